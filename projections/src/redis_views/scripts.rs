//! The Lua scripts the hot views run in Redis (sent once, then called by their
//! SHA1 with `EVALSHA`). A script runs alone, so each one's reads and writes are
//! one atomic step: no other client sees a half-applied batch or a half-done
//! generation switch.

use std::sync::LazyLock;

use redis::Script;

/// `newer(a, b)`: whether position `a` is after position `b` (`false`/absent is
/// before everything). Positions are `<transaction_id>:<global_position>` in
/// decimal without leading zeros, compared as the pair, digit strings by length
/// then lexically: exact for any 64-bit value, where Lua's doubles are not.
const NEWER: &str = r"
local function newer(a, b)
  if not b then return true end
  local at, ag = string.match(a, '^(%d+):(%d+)$')
  local bt, bg = string.match(b, '^(%d+):(%d+)$')
  if not at then return false end
  if not bt then return true end
  if #at ~= #bt then return #at > #bt end
  if at ~= bt then return at > bt end
  if #ag ~= #bg then return #ag > #bg end
  return ag > bg
end
";

/// Finds the generations to read and write, creating the first one for a Redis
/// that has none.
///
/// KEYS: generation, building, generations. Returns `{live, building, created}`
/// (`''` for none; `created` is 1 when this call numbered a first generation).
pub(crate) static RESOLVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local live = redis.call('GET', KEYS[1])
local building = redis.call('GET', KEYS[2])
local created = 0
if not live and not building then
  live = tostring(redis.call('INCR', KEYS[3]))
  redis.call('SET', KEYS[1], live)
  created = 1
end
return {live or '', building or '', created}
",
    )
});

/// Starts a rebuild: numbers a new generation and makes it the one written, while
/// readers stay on theirs.
///
/// KEYS: building, generations. Returns `{abandoned, new}`: a generation an earlier
/// rebuild left unfinished (`''` for none), and the new one.
pub(crate) static START_REBUILD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local abandoned = redis.call('GET', KEYS[1]) or ''
local generation = tostring(redis.call('INCR', KEYS[2]))
redis.call('SET', KEYS[1], generation)
return {abandoned, generation}
",
    )
});

/// Applies one batch: writes each value whose stored position is older than the
/// batch's, moves the generation's checkpoint, and, during a rebuild, switches
/// readers to the new generation once it has reached the old one's checkpoint.
///
/// KEYS: generation, building, the written generation's checkpoint, the read
/// generation's checkpoint (the same key when no rebuild runs), then one key per
/// value. ARGV: the read generation the caller expects (`''` for none), the
/// generation it writes, the batch's position, then one view (JSON) per value key.
///
/// Returns `{-1}` when the generations are not the expected ones (a rebuild
/// started elsewhere, or Redis lost its data): nothing was written. Otherwise
/// `{switched, refused...}`: 1 when readers were switched over, then the 0-based
/// indexes of values left alone because a newer one was stored.
pub(crate) static APPLY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NEWER}{}",
        r"
local live = redis.call('GET', KEYS[1]) or ''
local building = redis.call('GET', KEYS[2]) or ''
local writing = live
if building ~= '' then writing = building end
if live ~= ARGV[1] or writing ~= ARGV[2] then return {-1} end
local position = ARGV[3]
local result = {0}
for i = 5, #KEYS do
  if newer(position, redis.call('HGET', KEYS[i], 'position')) then
    redis.call('HSET', KEYS[i], 'position', position, 'view', ARGV[i - 1])
  else
    result[#result + 1] = i - 5
  end
end
local checkpoint = redis.call('GET', KEYS[3])
if newer(position, checkpoint) then
  redis.call('SET', KEYS[3], position)
  checkpoint = position
end
if building ~= '' then
  local read_checkpoint = false
  if live ~= '' then read_checkpoint = redis.call('GET', KEYS[4]) end
  if not read_checkpoint or not newer(read_checkpoint, checkpoint) then
    redis.call('SET', KEYS[1], building)
    redis.call('DEL', KEYS[2])
    result[1] = 1
  end
end
return result
"
    ))
});

/// Reads one view from the generation readers use, with its position and that
/// generation's checkpoint, in one step (a switch cannot fall in between).
///
/// KEYS: generation. ARGV: what every key of a generation starts with up to its
/// number, and what follows the number in the view's key. Returns `{}` when there
/// is no generation, else `{position, view, checkpoint}` (`''` for absent).
pub(crate) static READ: LazyLock<Script> = LazyLock::new(|| {
    // `no-writes`: reads go on while writes are paused (`CLIENT PAUSE WRITE`), and
    // on a read-only replica.
    Script::new(&format!(
        r"#!lua flags=no-writes
local live = redis.call('GET', KEYS[1])
if not live then return {{}} end
local base = ARGV[1] .. live
local value = redis.call('HMGET', base .. ARGV[2], 'position', 'view')
local checkpoint = redis.call('GET', base .. '{checkpoint}')
return {{value[1] or '', value[2] or '', checkpoint or ''}}
",
        checkpoint = super::keys::CHECKPOINT
    ))
});
