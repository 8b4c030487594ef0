//! The keys of one namespace and the Lua scripts that change them atomically.
//!
//! `{ns}:auth` is a hash: `v` (the version, a fresh number from `{ns}:seq` on every credential
//! write), `fp` (the fingerprint of the stored credentials), `auth` (their compact JSON),
//! `failure` (the shared failure record, optional) and `fgen` (its change number). `{ns}:lease`
//! holds the refresh lease's token. The braces make every key of a namespace hash to one Redis
//! Cluster slot, so the scripts may touch them together.

use std::sync::LazyLock;

use redis::Script;

/// The keys of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) namespace: String,
    pub(crate) auth: String,
    pub(crate) seq: String,
    pub(crate) lease: String,
}

impl Keys {
    pub(crate) fn new(namespace: &str) -> Keys {
        Keys {
            namespace: namespace.to_owned(),
            auth: format!("{{{namespace}}}:auth"),
            seq: format!("{{{namespace}}}:seq"),
            lease: format!("{{{namespace}}}:lease"),
        }
    }
}

/// KEYS: auth, seq. ARGV: expected fingerprint (empty: unconditional), new fingerprint, JSON.
/// Returns the new version, or 0 when the stored fingerprint is not the expected one. A write
/// drops the failure record (the clearing rule) and bumps both change numbers.
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
local v = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', v, 'fp', ARGV[2], 'auth', ARGV[3], 'fgen', v)
return v
",
    )
});

/// KEYS: auth, seq. Deletes the credentials (and with them the failure record); returns 1 if
/// they existed.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return n
",
    )
});

/// KEYS: auth, seq. ARGV: fingerprint, record. Stores the record only while the credentials it
/// names are the stored ones; returns 1 if stored.
pub(crate) static SAVE_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'failure', ARGV[2], 'fgen', redis.call('INCR', KEYS[2]))
return 1
",
    )
});

/// KEYS: auth, seq. Removes the record; returns 1 if it existed.
pub(crate) static DELETE_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], 'failure') == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'failure')
redis.call('HSET', KEYS[1], 'fgen', redis.call('INCR', KEYS[2]))
return 1
",
    )
});

/// KEYS: lease. ARGV: token. Deletes the lease only if this token holds it.
pub(crate) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// KEYS: lease. ARGV: token, milliseconds. Extends the lease only if this token holds it.
pub(crate) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
",
    )
});
