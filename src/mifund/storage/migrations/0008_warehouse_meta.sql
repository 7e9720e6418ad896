-- 0008: the warehouse's own settings, name → value (who set each, when). First use: the fingerprint of the
-- key that hashes citizen ID numbers into person_id (an HMAC of a fixed text: it reveals neither the key
-- nor any ID), so that an import with another key is refused (src/mifund/ingest/idnumber.py).

CREATE TABLE warehouse_meta (
    name VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    set_at TIMESTAMP,
    set_by VARCHAR
);
