"""The per-minute history in Lua (``_MINUTE``: ``mn_count``, ``mn_task``, ``mn_flush``),
which the state-writing scripts keep (see :mod:`backend.history` for what it counts and
:mod:`backend.scripts.upkeep` for how a script gets it).
"""

from __future__ import annotations

from backend import history
from backend.protocol import DEFAULT_TASK

# -- the per-minute history (see backend.history) ------------------------------------
# ``mn_count(what, queue, name, n)`` counts ``n`` of ``what`` (submitted, completed,
# failed, retried) in total, per queue and per name; ``mn_task(what, state)`` counts
# one for the task whose state JSON is ``state`` (reading its queue and name) and, for
# a finished task, its latency in the histogram (``mn_seen(what, seen, state)``: the
# same from what ix_reindex read). ``mn_flush()`` adds what was counted
# to the current minute's hash (one HINCRBY per field; the expiry is set when the
# hash is created). Needs _INDEX (backend.scripts.indexing) before it.
# @MN@ (the minute prefix) is filled in per layout, like _INDEX's names.
_MINUTE = """
local MN_PREFIX, MN_KEEP, MN_FIELDS, MN_OTHER = '@MN@', @KEEP@, @FIELDS@, '@OTHER@'
local MN_BOUNDS = {@BOUNDS@}
local MN_BUCKETS = {@BUCKETS@}  -- the latency histogram's fields, 'l:0'...
local MN_DEFAULT_NAME = '@NAME@'
local mn_counts, mn_named, mn_any = {}, {q = {}, n = {}}, false
local function mn_bump(tab, field, n) tab[field] = (tab[field] or 0) + n; mn_any = true end
-- per queue and per name: counted by value, their fields ('q:<queue>:<what>') built
-- once per flush (a string a script builds costs about a microsecond)
local function mn_bump_of(kind, value, what, n)
    local counts = mn_named[kind][value]
    if not counts then
        counts = {}
        mn_named[kind][value] = counts
    end
    counts[what] = (counts[what] or 0) + n
end
local function mn_count(what, queue, name, n)
    mn_bump(mn_counts, what, n)
    mn_bump_of('q', queue, what, n)
    mn_bump_of('n', name, what, n)
end
local function mn_latency(created, finished)
    if not (created and finished) then return end
    local took = math.max(0, finished - created)
    local bucket = #MN_BOUNDS
    for b = 1, #MN_BOUNDS do
        if took <= MN_BOUNDS[b] then bucket = b - 1; break end
    end
    mn_bump(mn_counts, MN_BUCKETS[bucket], 1)
    mn_bump(mn_counts, 'lms', math.floor(took * 1000 + 0.5))
end
local function mn_task(what, state)
    local queue, name = ix_str(state, 'queue'), ix_str(state, 'name')
    mn_count(what, queue or 'default', name or MN_DEFAULT_NAME, 1)
    if what == 'completed' or what == 'failed' then
        mn_latency(ix_num(state, 'created'), ix_num(state, 'finished'))
    end
end
-- mn_task for a task ix_reindex just moved (``seen``: what it read), reading the state
-- only for what it did not.
local function mn_seen(what, seen, state)
    if not seen then return mn_task(what, state) end
    local name = seen[1] ~= '' and seen[1] or MN_DEFAULT_NAME
    mn_count(what, seen[2], name, 1)
    if what == 'completed' or what == 'failed' then
        mn_latency(tonumber(seen[3]), seen[4] or ix_num(state, 'finished'))
    end
end
local function mn_flush()
    if not mn_any then return end
    local now = redis.call('TIME')
    local key = MN_PREFIX .. math.floor(tonumber(now[1]) / 60)
    local size = redis.call('HLEN', key)
    local crowded = size >= MN_FIELDS
    for field, n in pairs(mn_counts) do redis.call('HINCRBY', key, field, n) end
    for kind, values in pairs(mn_named) do
        for value, counts in pairs(values) do
            if crowded then value = MN_OTHER end
            for what, n in pairs(counts) do
                redis.call('HINCRBY', key, kind .. ':' .. value .. ':' .. what, n)
            end
        end
    end
    -- a new minute's hash gets its expiry (only this function writes these hashes)
    if size == 0 then redis.call('EXPIRE', key, MN_KEEP) end
    mn_counts, mn_named, mn_any = {}, {q = {}, n = {}}, false
end
"""
for _name, _value in {
    "@KEEP@": str(history.MINUTE_KEEP),
    "@FIELDS@": str(history.MINUTE_FIELDS),
    "@OTHER@": history.OTHER,
    "@BOUNDS@": ", ".join(repr(b) for b in history.LATENCY_BOUNDS),
    # literal strings: a script's constants cost nothing per call, a string it builds
    # (``'l:' .. b``) costs about a microsecond each
    "@BUCKETS@": ", ".join(f"[{b}] = 'l:{b}'" for b in range(len(history.LATENCY_BOUNDS) + 1)),
    "@NAME@": DEFAULT_TASK,
}.items():
    _MINUTE = _MINUTE.replace(_name, _value)
