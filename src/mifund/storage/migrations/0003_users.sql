-- 0003: users, roles, sessions, API tokens and login attempts for the web application (issue #9;
-- src/mifund/users writes them). Secrets are never stored: passwords as Argon2id hashes, session ids
-- and bearer tokens as SHA-256 digests. Security events are append-only (a logout or revocation is a
-- new row), so that changing them never copies a hash into audit_log; `users` itself is replaced by
-- username through Warehouse.upsert (old and new values audited; it holds no secret).

CREATE TABLE users (
    username VARCHAR NOT NULL,
    display_name VARCHAR,
    role VARCHAR NOT NULL,            -- admin | analyst | supervisor | viewer
    region_code VARCHAR,              -- root of the region subtree the user may see (admin: NULL = all)
    disabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE user_passwords (         -- append-only: the latest row of a user is the password
    username VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,   -- Argon2id, PHC string
    set_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    session_hash VARCHAR NOT NULL,    -- sha256 of the cookie value
    username VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    client VARCHAR
);

CREATE TABLE session_ends (           -- append-only: logout, or every session of a disabled user
    session_hash VARCHAR NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    reason VARCHAR
);

CREATE TABLE api_tokens (
    token_hash VARCHAR NOT NULL,      -- sha256 of the bearer token
    token_prefix VARCHAR NOT NULL,    -- first characters, to tell tokens apart in lists
    username VARCHAR NOT NULL,
    name VARCHAR,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE token_revocations (
    token_hash VARCHAR NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);

CREATE TABLE login_attempts (
    username VARCHAR NOT NULL,
    client VARCHAR,
    attempted_at TIMESTAMP NOT NULL,
    success BOOLEAN NOT NULL
);
