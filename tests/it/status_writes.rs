//! Status writes. The batched start and final writes keep every row's own condition, for rows
//! started and finished at once (a fast task's two changes met in the writer's queue) as for
//! running ones; a task that ends within the writer's grace is stored once, and a longer one
//! shows `running` while it runs.

use chrono::Utc;
use serde_json::json;
use taskforge::db::executions::{self, Finish, NewExecution};
use taskforge::db::status_batch;
use uuid::Uuid;

use crate::app::TestApp;
use taskforge::domain::states::{ExecutionStatus, TaskType, Trigger};

fn pending(schedule: Uuid, owner: Uuid) -> NewExecution {
    NewExecution {
        id: Uuid::now_v7(),
        schedule_id: schedule,
        status: ExecutionStatus::Pending,
        trigger: Trigger::Manual,
        attempt: 1,
        scheduled_for: Utc::now(),
        task_type: TaskType::Shell,
        task_config: json!({"command": "true"}),
        created_at: Utc::now(),
        owner_instance: Some(owner),
        error_record_id: None,
        schedule_name: "status-writes".into(),
        finished_at: None,
        skip_reason: None,
        payload: None,
        idempotency_key: None,
        chained_from: None,
        chain_depth: 0,
        chain_next: false,
    }
}

fn completed() -> Finish {
    Finish {
        status: ExecutionStatus::Completed,
        result: Some(json!({"exitCode": 0})),
        error: None,
        error_type: None,
        conductor_thread_id: None,
        conductor_status: None,
        finished_at: Utc::now(),
        duration_ms: Some(3),
    }
}

#[actix_web::test]
async fn start_and_finish_writes_pending_rows_only() {
    let app = TestApp::spawn().await;
    let pool = &app.running().state.services.pool;
    // An owner of its own, so this app's execution engine leaves the rows alone.
    let me = Uuid::new_v4();
    let schedule = Uuid::now_v7();
    let fresh = executions::insert(pool, &pending(schedule, me))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let gone = executions::insert(pool, &pending(schedule, me))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    executions::cancel(pool, gone.id, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Utc::now();
    let start_and_finish = |id| status_batch::FinishItem {
        id,
        fence: None,
        started_at: Some(started),
        finish: completed(),
    };
    let written = status_batch::finish(
        pool,
        me,
        &[start_and_finish(fresh.id), start_and_finish(gone.id)],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // Only the pending one; the cancelled one keeps its state.
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(
        (written[0].id, written[0].fence),
        (fresh.id, fresh.fence + 1)
    );
    let row = app.execution(&fresh.id.to_string()).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert!(
        row["startedAt"].is_string() && row["finishedAt"].is_string(),
        "{row}"
    );
    assert_eq!(row["result"]["exitCode"], 0);
    assert_eq!(
        app.execution(&gone.id.to_string()).await["status"],
        "cancelled"
    );

    // A fence-less final write needs the row running under this instance: a pending row (its
    // running write lost) is not finished behind the writer's back.
    let other = executions::insert(pool, &pending(schedule, me))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let item = status_batch::FinishItem {
        id: other.id,
        fence: None,
        started_at: None,
        finish: completed(),
    };
    assert!(status_batch::finish(pool, me, std::slice::from_ref(&item))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
    status_batch::mark_running(pool, me, &[(other.id, Utc::now())])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = status_batch::finish(pool, me, &[item])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        app.execution(&other.id.to_string()).await["status"],
        "completed"
    );
}

#[actix_web::test]
async fn one_refused_final_state_does_not_hold_its_batch() {
    let app = TestApp::spawn().await;
    crate::cluster::refuse_results_containing(app.db.url(), "poison").await;
    let pool = &app.running().state.services.pool;
    let me = Uuid::new_v4();
    let schedule = Uuid::now_v7();
    let writer = taskforge::actors::execution::writer::StatusWriter::start(pool.clone(), me);
    let mut rows = Vec::new();
    for _ in 0..5 {
        let r = executions::insert(pool, &pending(schedule, me))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        rows.push(r.id);
    }
    let running: Vec<_> = rows
        .iter()
        .map(|id| writer.mark_running(*id, Utc::now()))
        .collect();
    for r in running {
        let _ = taskforge::actors::execution::writer::answer_of(r).await;
    }
    // All five final states queued before the writer runs: one batch.
    let answers: Vec<_> = rows
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut f = completed();
            if i == 2 {
                f.result = Some(json!({"stdout": "poison"}));
            }
            writer.finish(*id, None, f)
        })
        .collect();
    for (i, a) in answers.into_iter().enumerate() {
        let stored = taskforge::actors::execution::writer::finish_answer_of(a)
            .await
            .unwrap_or_else(|e| panic!("row {i}: {e}"))
            .unwrap_or_else(|| panic!("row {i} not written"));
        assert_eq!(stored.replaced_by.is_some(), i == 2, "row {i}");
        let row = app.execution(&rows[i].to_string()).await;
        let want = if i == 2 { "failed" } else { "completed" };
        assert_eq!(row["status"], want, "{row}");
    }
}

#[actix_web::test]
async fn the_settle_pass_only_judges_rows_that_ran_well_before_it_looked() {
    let app = TestApp::spawn().await;
    let pool = &app.running().state.services.pool;
    let me = Uuid::new_v4();
    let schedule = Uuid::now_v7();
    let mut ids = Vec::new();
    for started in [Utc::now(), Utc::now() - chrono::Duration::seconds(120)] {
        let r = executions::insert(pool, &pending(schedule, me))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        status_batch::mark_running(pool, me, &[(r.id, started)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ids.push(r.id);
    }
    // Neither is in `live`: the fresh one may have been launched after the look, so it stays.
    let settled =
        taskforge::db::orphans::settle_own(pool, me, &[], taskforge::domain::clock::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        settled.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    assert_eq!(
        app.execution(&ids[0].to_string()).await["status"],
        "running"
    );
}

/// Every update of a task_executions row, in order: a trigger the test installs on its own
/// database, so it counts the writes the service really made.
const COUNT_UPDATES: [&str; 3] = [
    "CREATE TABLE exec_updates (seq bigserial, id uuid, status text)",
    "CREATE FUNCTION count_exec_updates() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN INSERT INTO exec_updates (id, status) VALUES (NEW.id, NEW.status); RETURN NEW; END $$",
    "CREATE TRIGGER count_exec_updates AFTER UPDATE ON task_executions \
     FOR EACH ROW EXECUTE FUNCTION count_exec_updates()",
];

#[actix_web::test]
async fn a_fast_task_is_written_once_and_a_slow_one_shows_running_while_it_runs() {
    use crate::app::eventually;
    use crate::cluster::{execute, query_i64};
    use std::time::Duration;

    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    for sql in COUNT_UPDATES {
        execute(&url, sql).await;
    }
    let writes = |id: &str| {
        let url = url.clone();
        let sql = format!("SELECT count(*) AS n FROM exec_updates WHERE id = '{id}'");
        async move { query_i64(&url, &sql).await }
    };

    // A shell task of its own, run once by hand.
    let app_ref = &app;
    let run = move |name: &'static str, command: &'static str| async move {
        let app = app_ref;
        let schedule = app
            .create_schedule(
                json!({"name": name, "taskType": "shell", "taskConfig": {"command": command},
                "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}),
            )
            .await;
        app.trigger(&schedule).await
    };

    // Ends within the grace: pending → completed in one write, started and finished stamped.
    let id = run("fast", "true").await;
    let done = app.finished_execution(&id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["startedAt"].is_string() && done["finishedAt"].is_string(),
        "{done}"
    );
    assert_eq!(
        writes(&id).await,
        1,
        "one write for a task that ended at once"
    );

    // Outlives the grace: `running` is stored while it runs, then the final state.
    let id = run("slow", "sleep 2").await;
    let running = eventually(Duration::from_secs(10), "running stored", || async {
        let e = app.execution(&id).await;
        (e["status"] == "running").then_some(e)
    })
    .await;
    assert!(running["startedAt"].is_string(), "{running}");
    let done = app.finished_execution(&id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["startedAt"], running["startedAt"],
        "the real start, not the write's"
    );
    let order = query_i64(
        &url,
        &format!(
            "SELECT count(*) AS n FROM exec_updates a JOIN exec_updates b ON a.id = b.id AND a.seq < b.seq \
             WHERE a.id = '{id}' AND a.status = 'running' AND b.status = 'completed'"
        ),
    )
    .await;
    assert_eq!(
        (writes(&id).await, order),
        (2, 1),
        "running, then completed"
    );
}
