-- The schema of an llmaas home before the store used Alembic: the ten numbered steps it applied,
-- recorded in PRAGMA user_version (a test opens a home made from this and upgrades it in place).
-- step 1
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        rpm_limit INTEGER,
        tpd_limit INTEGER
    );
    CREATE TABLE usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key_id TEXT,
        endpoint TEXT NOT NULL,
        model TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX usage_key_time ON usage (key_id, created_at);
    CREATE TABLE files (
        id TEXT PRIMARY KEY,
        owner TEXT,
        filename TEXT NOT NULL,
        purpose TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'processed'
    );
    
-- step 2
    CREATE TABLE fine_tuning_jobs (
        id TEXT PRIMARY KEY,
        owner TEXT,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE fine_tuning_events (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES fine_tuning_jobs(id),
        seq INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX fine_tuning_events_job ON fine_tuning_events (job_id, seq);
    CREATE TABLE fine_tuning_checkpoints (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES fine_tuning_jobs(id),
        step INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE models (
        id TEXT PRIMARY KEY,
        owner TEXT,
        base TEXT NOT NULL,
        path TEXT,
        created_at INTEGER NOT NULL
    );
    
-- step 3
    ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
    
-- step 4
    CREATE TABLE registered_models (
        id TEXT PRIMARY KEY,
        owner TEXT,
        path TEXT,
        target TEXT,
        kind TEXT NOT NULL,
        engine TEXT,
        created_at INTEGER NOT NULL,
        CHECK ((path IS NULL) != (target IS NULL))
    );
    
-- step 5
    CREATE TABLE moderation_flags (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key_id TEXT,
        source TEXT NOT NULL,
        categories TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX moderation_flags_time ON moderation_flags (created_at);
    
-- step 6
    ALTER TABLE registered_models ADD COLUMN weights_sha256 TEXT;
    ALTER TABLE models ADD COLUMN base_sha256 TEXT;
    
-- step 7
    CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        owner TEXT,
        created_at INTEGER NOT NULL,
        previous_id TEXT,
        body TEXT NOT NULL,
        input_items TEXT NOT NULL,
        conversation TEXT NOT NULL
    );
    CREATE INDEX responses_owner ON responses (owner, created_at);
    
-- step 8
    ALTER TABLE api_keys ADD COLUMN max_tokens INTEGER;
    ALTER TABLE api_keys ADD COLUMN max_seconds INTEGER;
    
-- step 9
    ALTER TABLE api_keys ADD COLUMN guard_sensitivity TEXT;
    
-- step 10
    CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        owner TEXT,
        endpoint TEXT NOT NULL,
        model TEXT,
        input_file_id TEXT NOT NULL,
        completion_window TEXT NOT NULL,
        status TEXT NOT NULL,
        metadata TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        in_progress_at INTEGER,
        finalizing_at INTEGER,
        completed_at INTEGER,
        failed_at INTEGER,
        expired_at INTEGER,
        cancelling_at INTEGER,
        cancelled_at INTEGER,
        output_file_id TEXT,
        error_file_id TEXT,
        errors TEXT,
        total INTEGER NOT NULL,
        enqueued_tokens INTEGER NOT NULL
    );
    CREATE INDEX batches_owner ON batches (owner, created_at);
    CREATE INDEX batches_status ON batches (status);
    CREATE TABLE batch_requests (
        batch_id TEXT NOT NULL REFERENCES batches(id),
        line INTEGER NOT NULL,
        custom_id TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        result TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (batch_id, line)
    );
    CREATE INDEX batch_requests_state ON batch_requests (batch_id, state, line);
    ALTER TABLE usage ADD COLUMN batch_id TEXT;
    ALTER TABLE api_keys ADD COLUMN max_batches INTEGER;
    ALTER TABLE api_keys ADD COLUMN max_batch_tokens INTEGER;
    
