//! Messages the SchedulerActor answers (schedule CRUD and firing arrive with issue 3's API).
