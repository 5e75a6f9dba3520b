"""The index and history upkeep of the state-writing scripts: built per call only when
used (``upkeep()``), or left for later and settled a few dozen tasks at a time
(``ix_later``, ``ix_settle``; ``SETTLE``). ``UPKEEP`` is what such a script starts with.
"""

from __future__ import annotations

from backend.scripts.indexing import _INDEX
from backend.scripts.minutes import _MINUTE

# -- upkeep left for later (see backend.keys: INDEX_BACKLOG) -----------------------------
LATER_MOST = 8
"""A submit or write of at most this many tasks leaves their index and history upkeep
for later: the task's round trip is what a user waits on, and the upkeep costs about as
much as the rest of both scripts. Bigger batches keep it inline (it is cheap per task
there)."""
SETTLE_SOON = 16
"""Backlog entries at which a writer (a worker, once its write is done) settles some of
it in the background (:meth:`backend.store.backlog.Backlog.settle_soon`): while the
task's client is busy with the result, not in the middle of anyone's round trip."""
SETTLE_CHUNK = 32
"""The most entries a writer settles at once: about 16 tasks (two entries a task: its
submit, its end), some hundreds of µs of the server's time, so a command that comes
meanwhile waits no longer than that. Measured against 8 and 16, and 32 and 64: the
same p50, the shortest tail."""
SETTLE_SUBMITTED = 128
"""Backlog entries at which a submitter settles all of it (when no worker writes: a
queue whose workers are busy with long tasks, or none)."""
SETTLE_AT = 1024
"""Backlog entries at which the script that adds one settles the backlog itself: the
bound when no caller settles it (a Go worker's writes do not add to it)."""

# The helpers (_INDEX, _MINUTE) are built per call only when used: ``upkeep()`` returns
# them (each call its own, with its own history counts to flush), so a script that
# stores a few tasks and leaves their upkeep for later does not pay for defining them
# (some 15 µs a call, as much as the rest of its work). A script names what it uses:
# ``local U = upkeep()``, then ``U.ix_reindex(...)``.
#
# Upkeep left for later: ``ix_later(entries)`` appends to the backlog an entry per task
# and event, a code letter and the id (``s`` submitted, ``c``/``f``/``x`` completed,
# failed, cancelled, ``r`` retried: ``IX_LATER_CODES``; ``w`` a write with no event),
# and returns the backlog's length, which the scripts return: their caller settles some
# soon, off the task's path (see backend.store.backlog). ``ix_settle(most)`` does the
# oldest ``most`` entries (0: all) at once: each task named is indexed from its stored
# state (from scratch when it was submitted meanwhile, as ``ix_reindex(..., fresh)``;
# one forgotten meanwhile is skipped), and each event is counted in this minute's
# history. Whatever reads the indexes or the history settles all first, in the same
# script (QUERY, FORGET) or just before (``SETTLE``); a writer settles SETTLE_CHUNK
# entries from SETTLE_SOON on, a submitter all from SETTLE_SUBMITTED, a script itself
# all at SETTLE_AT (when no caller did), and so does every worker's housekeeping round.
# The indexes follow the stored states, so the order the upkeep is done in does not
# change them (a task's entries may be settled in two chunks), and each event is
# counted once, inline or here. @BACKLOG@ and @STATES@ are filled in per layout.
_SETTLE_ENTRIES = """
local IX_STATES = '@STATES@'
local IX_LATER_EVENTS = {s = 'submitted', c = 'completed', f = 'failed', x = 'cancelled',
                         r = 'retried'}
local function ix_settle_entries(entries)
    local order, fresh, events = {}, {}, {}
    for _, entry in ipairs(entries) do
        local code, id = string.sub(entry, 1, 1), string.sub(entry, 2)
        if fresh[id] == nil then
            order[#order + 1] = id
            fresh[id] = false
        end
        if code == 's' then fresh[id] = true end
        local what = IX_LATER_EVENTS[code]
        if what then events[#events + 1] = {what, id} end
    end
    local states, again, written = {}, {{}, {}}, {{}, {}}
    for first = 1, #order, 1000 do
        local last = math.min(first + 999, #order)
        local part = redis.call('HMGET', IX_STATES, unpack(order, first, last))
        for k = 1, #part do
            local id, state = order[first + k - 1], part[k]
            if state then
                states[id] = state
                local group = fresh[id] and again or written
                group[1][#group[1] + 1] = id
                group[2][#group[2] + 1] = state
            end
        end
    end
    local seen = {}
    for _, group in ipairs({again, written}) do
        for first = 1, #group[1], 1000 do
            local last = math.min(first + 999, #group[1])
            ix_reindex({unpack(group[1], first, last)}, {unpack(group[2], first, last)},
                       group == again, seen)
        end
    end
    for _, event in ipairs(events) do
        local what, id = event[1], event[2]
        local state = states[id]
        if state then
            mn_seen(what, seen[id], state)
        else  -- forgotten meanwhile: counted, as no name on no queue
            mn_count(what, 'default', MN_DEFAULT_NAME, 1)
        end
    end
    mn_flush()
end
"""
_EXPORTS = [
    "ix_batch",
    "ix_new",
    "ix_flush",
    "ix_reindex",
    "ix_forget",
    "ix_num",
    "ix_now",
    "mn_count",
    "mn_task",
    "mn_seen",
    "mn_flush",
    "ix_settle_entries",
]
_LATER = """
local function ix_settle(most)
    most = most or 0
    local entries = redis.call('LRANGE', IX_BACKLOG, 0, most - 1)
    if #entries == 0 then return 0 end
    if most > 0 and #entries == most then
        redis.call('LTRIM', IX_BACKLOG, most, -1)
    else
        redis.call('DEL', IX_BACKLOG)
    end
    upkeep().ix_settle_entries(entries)
    return #entries
end
local function ix_later(entries)
    local length = redis.call('RPUSH', IX_BACKLOG, unpack(entries))
    if length < IX_SETTLE_AT then return length end
    ix_settle()
    return 0
end
"""
UPKEEP = (
    f"""
local IX_BACKLOG, IX_SETTLE_AT, IX_LATER_MOST = '@BACKLOG@', {SETTLE_AT}, {LATER_MOST}
local IX_LATER_CODES = {{submitted = 's', completed = 'c', failed = 'f', cancelled = 'x',
                        retried = 'r'}}
local function upkeep()
"""
    + _INDEX
    + _MINUTE
    + _SETTLE_ENTRIES
    + "return {"
    + ", ".join(f"{name} = {name}" for name in _EXPORTS)
    + "}\nend\n"
    + _LATER
)
"""What a state-writing script starts with: ``upkeep()``, ``ix_later``, ``ix_settle``."""

SETTLE = (
    UPKEEP
    + """
-- KEYS: the backlog (it routes the script). ARGV: the most entries to settle (0: all).
-- Settles them, the oldest first (see ix_settle). Returns how many there were.
return ix_settle(tonumber(ARGV[1]))
"""
)
