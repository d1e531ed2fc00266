DROP TABLE audit_log;
DROP TABLE secrets;
DROP TABLE api_tokens;
