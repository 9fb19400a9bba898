-- `watch followers` exports page through a snapshot in its printed order (username, then id) on
-- this index instead of sorting the whole snapshot in memory (issue 21: bounded memory).
CREATE INDEX check_job_items_by_name ON check_job_items (job_id, username, ig_user_id);
