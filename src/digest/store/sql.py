"""Every SQL statement digest runs, named. Plain SQL that SQLite and PostgreSQL share where
possible; the few SQLite-only bits (``PRAGMA``, ``INSERT OR IGNORE``) are marked.

Times are stored as ISO 8601 text in UTC; whole values (articles, summaries, editions)
as JSON produced by ``digest.serialize``.
"""

from __future__ import annotations

# --- schema migrations: index i brings the schema from version i to i + 1 -------------------

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE articles (
        id            TEXT PRIMARY KEY,
        source        TEXT NOT NULL,
        url           TEXT,
        canonical_url TEXT UNIQUE,
        content_hash  TEXT NOT NULL UNIQUE,
        title         TEXT NOT NULL,
        category      TEXT,
        published     TEXT,
        ingested_at   TEXT NOT NULL,
        body          TEXT NOT NULL
    );
    CREATE INDEX articles_published ON articles (published);
    CREATE INDEX articles_ingested ON articles (ingested_at);

    CREATE TABLE embeddings (
        model     TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector    BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)
    );

    CREATE TABLE summaries (
        content_hash   TEXT NOT NULL,
        backend        TEXT NOT NULL,
        model          TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        body           TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (content_hash, backend, model, prompt_version)
    );

    CREATE TABLE editions (
        id         TEXT PRIMARY KEY,
        day        TEXT NOT NULL UNIQUE,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE edition_articles (
        edition_id TEXT NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
        article_id TEXT NOT NULL,
        role       TEXT NOT NULL,
        position   INTEGER NOT NULL,
        PRIMARY KEY (edition_id, article_id)
    );
    CREATE INDEX edition_articles_article ON edition_articles (article_id);

    CREATE TABLE subscribers (
        id                 INTEGER PRIMARY KEY,
        email              TEXT NOT NULL,
        email_key          TEXT NOT NULL UNIQUE,  -- lower-cased address: duplicates merge
        name               TEXT NOT NULL DEFAULT '',
        topics             TEXT NOT NULL DEFAULT '[]',
        state              TEXT NOT NULL DEFAULT 'active',
        permanent_failures INTEGER NOT NULL DEFAULT 0,
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL
    );
    CREATE INDEX subscribers_state ON subscribers (state);

    CREATE TABLE deliveries (
        edition_id    TEXT NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        message_id    TEXT NOT NULL DEFAULT '',
        state         TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        ambiguous     INTEGER NOT NULL DEFAULT 0,  -- times resent after a crash in that window
        reply_code    INTEGER,
        reply_text    TEXT,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (edition_id, subscriber_id)
    );
    CREATE INDEX deliveries_state ON deliveries (edition_id, state);
    """,
    # 2: the editor's desk: actions on a day's edition, and approvals of what it renders
    """
    CREATE TABLE desk_actions (
        id         INTEGER PRIMARY KEY,
        day        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        article_id TEXT NOT NULL DEFAULT '',
        other_id   TEXT NOT NULL DEFAULT '',
        position   INTEGER,
        text       TEXT NOT NULL DEFAULT '',
        editor     TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX desk_actions_day ON desk_actions (day, id);

    CREATE TABLE approvals (
        day          TEXT PRIMARY KEY,
        edition_id   TEXT NOT NULL,
        edition_hash TEXT NOT NULL,
        editor       TEXT NOT NULL,
        approved_at  TEXT NOT NULL
    );
    """,
    # 3: unsubscribe tokens sign the subscription's version; it goes up each time an
    # address becomes active again, which revokes the links of earlier mail
    """
    ALTER TABLE subscribers ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: the distributed sender's batches: ranges of one edition's ledger rows, each claimed
    # by one worker at a time (SELECT ... FOR UPDATE SKIP LOCKED, PostgreSQL)
    """
    CREATE TABLE delivery_batches (
        edition_id       TEXT NOT NULL,
        batch            INTEGER NOT NULL,
        first_subscriber INTEGER NOT NULL,
        last_subscriber  INTEGER NOT NULL,
        state            TEXT NOT NULL DEFAULT 'open',
        worker           TEXT,
        updated_at       TEXT NOT NULL,
        PRIMARY KEY (edition_id, batch)
    );
    -- Forgetting a subscriber (and the cascade from subscribers) finds their ledger rows
    -- without reading the whole ledger: on a list of millions that was minutes per address.
    CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id);
    """,
    # 5: subscribers' side (issue 12): frequency, consent records, pending sign-ups,
    # bounce scores and events, and the mail already handled by `digest bounces`.
    """
    ALTER TABLE subscribers ADD COLUMN frequency TEXT NOT NULL DEFAULT 'daily';

    CREATE TABLE consents (
        subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
        consented_at  TEXT NOT NULL,
        method        TEXT NOT NULL,  -- double-opt-in, import, cli
        source        TEXT NOT NULL DEFAULT '',  -- the form's page, the file imported
        topics        TEXT NOT NULL DEFAULT '[]'
    );

    CREATE TABLE signups (
        email_key    TEXT PRIMARY KEY,
        email        TEXT NOT NULL,
        topics       TEXT NOT NULL DEFAULT '[]',
        source       TEXT NOT NULL DEFAULT '',
        requested_at TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        mails        INTEGER NOT NULL DEFAULT 0,  -- confirmation mails sent in the window
        window_start TEXT NOT NULL
    );
    CREATE INDEX signups_expires ON signups (expires_at);

    CREATE TABLE bounce_scores (
        subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
        score         REAL NOT NULL DEFAULT 0,
        hard          INTEGER NOT NULL DEFAULT 0,
        soft          INTEGER NOT NULL DEFAULT 0,
        last_at       TEXT NOT NULL
    );

    CREATE TABLE bounce_events (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        message_key   TEXT NOT NULL,
        kind          TEXT NOT NULL,  -- hard, soft, complaint, unsubscribe
        status        TEXT NOT NULL DEFAULT '',
        happened_at   TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, message_key)
    );

    CREATE TABLE handled_mail (
        message_key TEXT PRIMARY KEY,  -- SHA-256 of the message: a re-run skips it
        outcome     TEXT NOT NULL,
        handled_at  TEXT NOT NULL
    );
    """,
    # 6: one pending record per sign-up request (issue 22): the link's expiry (seconds since
    # the epoch) names its request, so that a later request never confirms what an earlier
    # one asked, and the confirmation page shows what it confirms.
    """
    CREATE TABLE signup_requests (
        email_key    TEXT NOT NULL,
        expires      INTEGER NOT NULL,
        email        TEXT NOT NULL,
        topics       TEXT NOT NULL DEFAULT '[]',
        source       TEXT NOT NULL DEFAULT '',
        requested_at TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        PRIMARY KEY (email_key, expires)
    );
    CREATE INDEX signup_requests_expires ON signup_requests (expires_at);
    """,
    # 7: HTTP validators per URL (conditional GET) and the health of each source (issue 19)
    """
    CREATE TABLE http_validators (
        url           TEXT PRIMARY KEY,
        etag          TEXT,
        last_modified TEXT,
        seen_at       TEXT NOT NULL
    );
    CREATE INDEX http_validators_seen ON http_validators (seen_at);

    CREATE TABLE source_health (
        source               TEXT PRIMARY KEY,
        location             TEXT NOT NULL,
        last_run             TEXT NOT NULL,
        last_success         TEXT,
        last_new_item        TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error           TEXT
    );
    CREATE TABLE source_days (
        source TEXT NOT NULL,
        day    TEXT NOT NULL,
        new    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (source, day)
    );
    CREATE TABLE page_notes (
        url      TEXT PRIMARY KEY,
        note     TEXT NOT NULL,
        noted_at TEXT NOT NULL
    );
    """,
)

# --- articles ------------------------------------------------------------------------------

# A row with the same content first: the article is then unchanged, and an update can
# never give a row the content hash another row holds (a UNIQUE violation).
ARTICLE_BY_KEY = """
SELECT id, content_hash FROM articles
WHERE id = :id OR content_hash = :content_hash
   OR (canonical_url IS NOT NULL AND canonical_url = :canonical_url)
ORDER BY content_hash = :content_hash DESC, id = :id DESC
LIMIT 1
"""

INSERT_ARTICLE = """
INSERT INTO articles (id, source, url, canonical_url, content_hash, title, category,
                      published, ingested_at, body)
VALUES (:id, :source, :url, :canonical_url, :content_hash, :title, :category,
        :published, :ingested_at, :body)
"""

UPDATE_ARTICLE = """
UPDATE articles SET source = :source, url = :url, canonical_url = :canonical_url,
       content_hash = :content_hash, title = :title, category = :category,
       published = :published, body = :body
WHERE id = :id
"""

ARTICLE_BODY = "SELECT body FROM articles WHERE id = :id"

ARTICLES_SINCE = """
SELECT body FROM articles
WHERE COALESCE(published, ingested_at) >= :since AND COALESCE(published, ingested_at) < :until
ORDER BY COALESCE(published, ingested_at) DESC, id
"""

ALL_ARTICLES = "SELECT body FROM articles ORDER BY COALESCE(published, ingested_at) DESC, id"

COUNT_ARTICLES = "SELECT COUNT(*) FROM articles"

# The newest article published (or, without a date, ingested) before :until.
NEWEST_ARTICLE_BEFORE = """
SELECT MAX(COALESCE(published, ingested_at)) FROM articles
WHERE COALESCE(published, ingested_at) < :until
"""

# --- embeddings ----------------------------------------------------------------------------

# {marks} is a run of "?" placeholders, one per hash.
EMBEDDINGS_IN = (
    "SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({marks})"
)

# SQLite: INSERT OR IGNORE (PostgreSQL: ON CONFLICT DO NOTHING)
INSERT_EMBEDDING = """
INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (:model, :text_hash, :vector)
"""

# --- summaries -----------------------------------------------------------------------------

SUMMARY_BY_KEY = """
SELECT body FROM summaries
WHERE content_hash = :content_hash AND backend = :backend AND model = :model
  AND prompt_version = :prompt_version
"""

# SQLite: INSERT OR REPLACE (PostgreSQL: ON CONFLICT (...) DO UPDATE)
PUT_SUMMARY = """
INSERT OR REPLACE INTO summaries (content_hash, backend, model, prompt_version, body, created_at)
VALUES (:content_hash, :backend, :model, :prompt_version, :body, :created_at)
"""

COUNT_SUMMARIES = "SELECT COUNT(*) FROM summaries"

# --- subscribers ---------------------------------------------------------------------------

SUBSCRIBER_BY_KEY = "SELECT * FROM subscribers WHERE email_key = :email_key"

SUBSCRIBER_BY_ID = "SELECT * FROM subscribers WHERE id = :id"

INSERT_SUBSCRIBER = """
INSERT INTO subscribers (email, email_key, name, topics, state, created_at, updated_at)
VALUES (:email, :email_key, :name, :topics, :state, :now, :now)
"""

# An address that becomes active again gets a new token version (SET sees the old row).
UPDATE_SUBSCRIBER = """
UPDATE subscribers SET email = :email, name = :name, topics = :topics, state = :state,
       permanent_failures = :permanent_failures, updated_at = :now,
       token_version = token_version
           + CASE WHEN state <> 'active' AND :state = 'active' THEN 1 ELSE 0 END
WHERE id = :id
"""

SET_SUBSCRIBER_STATE = """
UPDATE subscribers SET state = :state, updated_at = :now,
       token_version = token_version
           + CASE WHEN state <> 'active' AND :state = 'active' THEN 1 ELSE 0 END
WHERE id = :id AND state <> :state
"""

# A subscriber's own request (a link, a mail): only an active address changes; a
# suppressed one stays suppressed (an operator's command alone lifts that).
UNSUBSCRIBE_SUBSCRIBER = """
UPDATE subscribers SET state = 'unsubscribed', updated_at = :now
WHERE id = :id AND state = 'active'
"""

ALL_SUBSCRIBERS = "SELECT * FROM subscribers ORDER BY id"

SUBSCRIBERS_IN_STATE = "SELECT * FROM subscribers WHERE state = :state ORDER BY id"

# One page of the subscribers in a state, after the id :after (keyset paging: memory and
# time per page do not grow with the list).
SUBSCRIBERS_PAGE = """
SELECT * FROM subscribers WHERE state = :state AND id > :after ORDER BY id LIMIT :limit
"""

COUNT_SUBSCRIBERS_IN_STATE = "SELECT COUNT(*) FROM subscribers WHERE state = :state"

COUNT_SUBSCRIBERS_BY_STATE = "SELECT state, COUNT(*) AS n FROM subscribers GROUP BY state"

DELETE_SUBSCRIBER = "DELETE FROM subscribers WHERE id = :id"

# One permanent failure more; the address is suppressed once it reaches the threshold.
RECORD_PERMANENT_FAILURE = """
UPDATE subscribers
SET permanent_failures = permanent_failures + 1,
    state = CASE WHEN permanent_failures + 1 >= :threshold AND state = 'active'
                 THEN 'suppressed' ELSE state END,
    updated_at = :now
WHERE id = :id
"""

# --- deliveries (the ledger) ---------------------------------------------------------------

# SQLite: INSERT OR IGNORE (PostgreSQL: ON CONFLICT DO NOTHING)
ENQUEUE_DELIVERY = """
INSERT OR IGNORE INTO deliveries (edition_id, subscriber_id, state, updated_at)
VALUES (:edition_id, :subscriber_id, 'queued', :now)
"""

DELIVERY = """
SELECT * FROM deliveries WHERE edition_id = :edition_id AND subscriber_id = :subscriber_id
"""

DELIVERIES_OF_EDITION = """
SELECT * FROM deliveries WHERE edition_id = :edition_id ORDER BY subscriber_id
"""

DELIVERIES_IN_STATE = """
SELECT * FROM deliveries WHERE edition_id = :edition_id AND state = :state ORDER BY subscriber_id
"""

COUNT_DELIVERIES_BY_STATE = """
SELECT state, COUNT(*) AS n FROM deliveries WHERE edition_id = :edition_id GROUP BY state
"""

# The rows still to send, for subscribers still active, in a stable order.
PENDING_DELIVERIES = """
SELECT d.subscriber_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.edition_id = :edition_id AND d.state IN ('queued', 'deferred', 'failed')
  AND s.state = 'active'
ORDER BY d.subscriber_id
"""

# The ledger rows of one page of subscribers, with what the send needs to know of each
# subscriber. {marks} is a run of "?" placeholders, one per subscriber id (the first "?"
# is the edition).
DELIVERIES_AMONG = """
SELECT d.subscriber_id AS subscriber_id, d.state AS state, s.state AS subscriber_state,
       s.permanent_failures AS permanent_failures
FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.edition_id = ? AND d.subscriber_id IN ({marks})
"""

# A claim, made right before DATA: the row moves to 'sending' only if nobody else holds it
# or sent it; rowcount says who won. (PostgreSQL, several hosts: SELECT ... FOR UPDATE
# SKIP LOCKED, then the same UPDATE.)
CLAIM_DELIVERY = """
UPDATE deliveries
SET state = 'sending', message_id = :message_id, attempts = attempts + 1, updated_at = :now
WHERE edition_id = :edition_id AND subscriber_id = :subscriber_id
  AND state IN ('queued', 'deferred', 'failed')
"""

# A failure before DATA (refused at MAIL or RCPT, no connection): nothing was handed over,
# so the row was never claimed; it is recorded unless another sender has it.
RECORD_UNCLAIMED = """
UPDATE deliveries
SET state = :state, message_id = :message_id, attempts = attempts + 1,
    reply_code = :reply_code, reply_text = :reply_text, updated_at = :now
WHERE edition_id = :edition_id AND subscriber_id = :subscriber_id
  AND state IN ('queued', 'deferred', 'failed')
"""

FINISH_DELIVERY = """
UPDATE deliveries
SET state = :state, reply_code = :reply_code, reply_text = :reply_text,
    ambiguous = ambiguous + :ambiguous, updated_at = :now
WHERE edition_id = :edition_id AND subscriber_id = :subscriber_id AND state = 'sending'
"""

# After a crash: a row left in 'sending' reached DATA and may have been delivered; it is
# queued again (resent with the same Message-ID) and counted.
REQUEUE_AMBIGUOUS = """
UPDATE deliveries SET state = 'queued', ambiguous = ambiguous + 1, updated_at = :now
WHERE edition_id = :edition_id AND state = 'sending'
"""

AMBIGUOUS_DELIVERIES = """
SELECT d.subscriber_id, d.message_id, s.email
FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.edition_id = :edition_id AND d.state = 'sending'
ORDER BY d.subscriber_id
"""

DELETE_DELIVERIES_OF_SUBSCRIBER = "DELETE FROM deliveries WHERE subscriber_id = :subscriber_id"

# --- editions ------------------------------------------------------------------------------

EDITION_BY_DAY = "SELECT id, body FROM editions WHERE day = :day"

DELETE_EDITION = "DELETE FROM editions WHERE id = :id OR day = :day"

INSERT_EDITION = """
INSERT INTO editions (id, day, body, created_at) VALUES (:id, :day, :body, :created_at)
"""

INSERT_EDITION_ARTICLE = """
INSERT INTO edition_articles (edition_id, article_id, role, position)
VALUES (:edition_id, :article_id, :role, :position)
"""

# The articles of the last :limit editions before :day, newest edition first.
ARTICLES_OF_RECENT_EDITIONS = """
SELECT e.id AS edition_id, e.day AS day, ea.article_id AS article_id, ea.role AS role,
       ea.position AS position
FROM edition_articles ea
JOIN editions e ON e.id = ea.edition_id
WHERE e.id IN (SELECT id FROM editions WHERE day < :day ORDER BY day DESC LIMIT :limit)
ORDER BY e.day DESC, ea.position
"""

# The articles of the editions from :since to before :day that reached at least one
# subscriber (a delivery in state 'sent'), newest edition first.
ARTICLES_OF_SENT_EDITIONS = """
SELECT e.id AS edition_id, e.day AS day, ea.article_id AS article_id, ea.role AS role,
       ea.position AS position
FROM edition_articles ea
JOIN editions e ON e.id = ea.edition_id
WHERE e.day >= :since AND e.day < :day
  AND EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = e.id AND d.state = 'sent')
ORDER BY e.day DESC, ea.position
"""

EDITION_DAYS = "SELECT day FROM editions ORDER BY day DESC"

# --- the editor's desk: actions and approvals ----------------------------------------------

INSERT_DESK_ACTION = """
INSERT INTO desk_actions (day, kind, article_id, other_id, position, text, editor, created_at)
VALUES (:day, :kind, :article_id, :other_id, :position, :text, :editor, :created_at)
"""

DESK_ACTIONS_OF_DAY = "SELECT * FROM desk_actions WHERE day = :day ORDER BY id"

DELETE_APPROVAL = "DELETE FROM approvals WHERE day = :day"

INSERT_APPROVAL = """
INSERT INTO approvals (day, edition_id, edition_hash, editor, approved_at)
VALUES (:day, :edition_id, :edition_hash, :editor, :approved_at)
"""

APPROVAL_OF_DAY = "SELECT * FROM approvals WHERE day = :day"

# --- send batches (the distributed sender: digest.distributed) -------------------------------

# Every subscriber still active gets a queued row (a long list in one statement, no round
# trip per subscriber). SQLite: INSERT OR IGNORE (PostgreSQL: ON CONFLICT DO NOTHING)
ENQUEUE_ACTIVE_DELIVERIES = """
INSERT OR IGNORE INTO deliveries (edition_id, subscriber_id, state, updated_at)
SELECT :edition_id, id, 'queued', :now FROM subscribers
WHERE state = 'active' AND frequency = :frequency
"""

# The unfinished rows of an edition cut into ranges of :size rows, in subscriber order.
PLAN_SEND_BATCHES = """
SELECT MIN(subscriber_id) AS first_subscriber, MAX(subscriber_id) AS last_subscriber
FROM (SELECT subscriber_id,
             (ROW_NUMBER() OVER (ORDER BY subscriber_id) - 1) / :size AS batch
      FROM deliveries
      WHERE edition_id = :edition_id AND state IN ('queued', 'deferred', 'failed', 'sending'))
      AS numbered
GROUP BY batch
ORDER BY batch
"""

INSERT_SEND_BATCH = """
INSERT INTO delivery_batches (edition_id, batch, first_subscriber, last_subscriber, state,
                              updated_at)
VALUES (:edition_id, :batch, :first_subscriber, :last_subscriber, 'open', :now)
"""

DELETE_SEND_BATCHES = "DELETE FROM delivery_batches WHERE edition_id = :edition_id"

COUNT_SEND_BATCHES_BY_STATE = """
SELECT state, COUNT(*) AS n FROM delivery_batches WHERE edition_id = :edition_id GROUP BY state
"""

# PostgreSQL only (the distributed sender refuses a SQLite store): the next open batch that
# no other worker holds. The row lock is the claim: it lasts as long as the worker's
# transaction, and the server drops it the moment the worker's connection dies.
CLAIM_SEND_BATCH = """
SELECT batch, first_subscriber, last_subscriber FROM delivery_batches
WHERE edition_id = :edition_id AND state = 'open'
ORDER BY batch
LIMIT 1
FOR UPDATE SKIP LOCKED
"""

FINISH_SEND_BATCH = """
UPDATE delivery_batches SET state = 'done', worker = :worker, updated_at = :now
WHERE edition_id = :edition_id AND batch = :batch
"""

ACTIVE_SUBSCRIBERS_IN_RANGE = """
SELECT * FROM subscribers
WHERE state = 'active' AND frequency = :frequency AND id BETWEEN :first AND :last ORDER BY id
"""

PENDING_DELIVERIES_IN_RANGE = """
SELECT d.subscriber_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.edition_id = :edition_id AND d.state IN ('queued', 'deferred', 'failed')
  AND s.state = 'active' AND d.subscriber_id BETWEEN :first AND :last
ORDER BY d.subscriber_id
"""

AMBIGUOUS_DELIVERIES_IN_RANGE = """
SELECT d.subscriber_id, d.message_id, s.email
FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.edition_id = :edition_id AND d.state = 'sending'
  AND d.subscriber_id BETWEEN :first AND :last
ORDER BY d.subscriber_id
"""

REQUEUE_AMBIGUOUS_IN_RANGE = """
UPDATE deliveries SET state = 'queued', ambiguous = ambiguous + 1, updated_at = :now
WHERE edition_id = :edition_id AND state = 'sending' AND subscriber_id BETWEEN :first AND :last
"""

COUNT_DELIVERIES_IN_RANGE_BY_STATE = """
SELECT state, COUNT(*) AS n FROM deliveries
WHERE edition_id = :edition_id AND subscriber_id BETWEEN :first AND :last
GROUP BY state
"""

SUM_AMBIGUOUS = """
SELECT COUNT(*) AS rows_resent, COALESCE(SUM(ambiguous), 0) AS times
FROM deliveries WHERE edition_id = :edition_id AND ambiguous > 0
"""

# --- bounces, complaints and mailto unsubscribes (digest bounces) --------------------------

# Evidence that a returned original is a message we sent this subscriber (digest bounces).
DELIVERY_WITH_MESSAGE_ID = (
    "SELECT 1 FROM deliveries WHERE subscriber_id = :subscriber_id"
    " AND message_id = :message_id LIMIT 1"
)
MAIL_HANDLED = "SELECT outcome FROM handled_mail WHERE message_key = :message_key"

# SQLite: INSERT OR IGNORE (PostgreSQL: ON CONFLICT DO NOTHING)
MARK_MAIL_HANDLED = """
INSERT OR IGNORE INTO handled_mail (message_key, outcome, handled_at)
VALUES (:message_key, :outcome, :now)
"""

BOUNCE_SCORE = "SELECT * FROM bounce_scores WHERE subscriber_id = :subscriber_id"

# SQLite: INSERT OR REPLACE (PostgreSQL: ON CONFLICT (subscriber_id) DO UPDATE)
PUT_BOUNCE_SCORE = """
INSERT OR REPLACE INTO bounce_scores (subscriber_id, score, hard, soft, last_at)
VALUES (:subscriber_id, :score, :hard, :soft, :last_at)
"""

# SQLite: INSERT OR IGNORE (PostgreSQL: ON CONFLICT DO NOTHING); rowcount 0: seen before.
INSERT_BOUNCE_EVENT = """
INSERT OR IGNORE INTO bounce_events (subscriber_id, message_key, kind, status, happened_at)
VALUES (:subscriber_id, :message_key, :kind, :status, :happened_at)
"""

BOUNCE_EVENTS_OF = """
SELECT * FROM bounce_events WHERE subscriber_id = :subscriber_id ORDER BY happened_at
"""

DELETE_BOUNCE_HISTORY = "DELETE FROM bounce_events WHERE subscriber_id = :subscriber_id"

DELETE_BOUNCE_SCORE = "DELETE FROM bounce_scores WHERE subscriber_id = :subscriber_id"

# --- consent and sign-ups --------------------------------------------------------------------

CONSENT_OF = "SELECT * FROM consents WHERE subscriber_id = :subscriber_id"

# SQLite: INSERT OR REPLACE (PostgreSQL: ON CONFLICT (subscriber_id) DO UPDATE)
PUT_CONSENT = """
INSERT OR REPLACE INTO consents (subscriber_id, consented_at, method, source, topics)
VALUES (:subscriber_id, :consented_at, :method, :source, :topics)
"""

DELETE_CONSENT = "DELETE FROM consents WHERE subscriber_id = :subscriber_id"

SIGNUP_BY_KEY = "SELECT * FROM signups WHERE email_key = :email_key"

# SQLite: INSERT OR REPLACE (PostgreSQL: ON CONFLICT (email_key) DO UPDATE)
PUT_SIGNUP = """
INSERT OR REPLACE INTO signups (email_key, email, topics, source, requested_at, expires_at,
                                mails, window_start)
VALUES (:email_key, :email, :topics, :source, :requested_at, :expires_at, :mails,
        :window_start)
"""

DELETE_SIGNUP = "DELETE FROM signups WHERE email_key = :email_key"

DELETE_EXPIRED_SIGNUPS = "DELETE FROM signups WHERE expires_at < :now"

# One row per sign-up request that was mailed a link (``expires`` names it).
PUT_SIGNUP_REQUEST = """
INSERT INTO signup_requests (email_key, expires, email, topics, source, requested_at,
                             expires_at)
VALUES (:email_key, :expires, :email, :topics, :source, :requested_at, :expires_at)
"""

SIGNUP_REQUEST = """
SELECT * FROM signup_requests WHERE email_key = :email_key AND expires = :expires
"""

LATEST_SIGNUP_REQUEST = """
SELECT MAX(expires) AS latest FROM signup_requests WHERE email_key = :email_key
"""

DELETE_SIGNUP_REQUESTS = "DELETE FROM signup_requests WHERE email_key = :email_key"

DELETE_EXPIRED_SIGNUP_REQUESTS = "DELETE FROM signup_requests WHERE expires_at < :now"

# Pending sign-ups never sent a confirmation mail (rows `subscribers import` kept without
# a consent date), a page at a time in address order.
UNMAILED_SIGNUPS = """
SELECT * FROM signups WHERE mails = 0 AND email_key > :after
ORDER BY email_key LIMIT :limit
"""

SET_SUBSCRIBER_PREFERENCES = """
UPDATE subscribers SET topics = :topics, frequency = :frequency, updated_at = :now
WHERE id = :id
"""

# --- fetching: HTTP validators and source health (issue 19) ---------------------------------

HTTP_VALIDATORS = "SELECT url, etag, last_modified FROM http_validators"

PUT_HTTP_VALIDATOR = """
INSERT INTO http_validators (url, etag, last_modified, seen_at)
VALUES (:url, :etag, :last_modified, :now)
ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
    seen_at = excluded.seen_at
"""

PRUNE_HTTP_VALIDATORS = "DELETE FROM http_validators WHERE seen_at < :before"

SOURCE_HEALTH = "SELECT * FROM source_health ORDER BY source"

SOURCE_HEALTH_OF = "SELECT * FROM source_health WHERE source = :source"

PUT_SOURCE_HEALTH = """
INSERT INTO source_health (source, location, last_run, last_success, last_new_item,
                           consecutive_failures, last_error)
VALUES (:source, :location, :last_run, :last_success, :last_new_item, :consecutive_failures,
        :last_error)
ON CONFLICT (source) DO UPDATE SET location = excluded.location, last_run = excluded.last_run,
    last_success = excluded.last_success, last_new_item = excluded.last_new_item,
    consecutive_failures = excluded.consecutive_failures, last_error = excluded.last_error
"""

ADD_SOURCE_DAY = """
INSERT INTO source_days (source, day, new) VALUES (:source, :day, :new)
ON CONFLICT (source, day) DO UPDATE SET new = source_days.new + excluded.new
"""

SOURCE_NEW_SINCE = """
SELECT source, SUM(new) AS new FROM source_days WHERE day >= :since GROUP BY source
"""

PRUNE_SOURCE_DAYS = "DELETE FROM source_days WHERE day < :before"

PUT_PAGE_NOTE = """
INSERT INTO page_notes (url, note, noted_at) VALUES (:url, :note, :now)
ON CONFLICT (url) DO UPDATE SET note = excluded.note, noted_at = excluded.noted_at
"""

DELETE_PAGE_NOTE = "DELETE FROM page_notes WHERE url = :url"

PAGE_NOTE = "SELECT note FROM page_notes WHERE url = :url"

PRUNE_PAGE_NOTES = "DELETE FROM page_notes WHERE noted_at < :before"
