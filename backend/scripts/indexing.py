"""The Lua helpers the state-writing scripts share (prepended to their text): the
console's indexes (``_INDEX``: ``ix_reindex``, ``ix_forget``), the per-minute
history (``_MINUTE``: ``mn_task``, ``mn_flush``) and their upkeep left for later
(``_LATER``: ``ix_later``, ``ix_settle``; ``UPKEEP`` is all three).
"""

from __future__ import annotations

from backend import history
from backend.protocol import DEFAULT_TASK, SUBMITTER

# -- the console's indexes (see backend.keys: INDEX_*) ----------------------------------
# Each task is in one sorted set per indexed value (status, worker, name, queue; scored
# by creation time; no worker, or the submitter's name, is not indexed as a worker),
# in the id set (for prefix search),
# and, once finished, in the finished-time and duration sets; the meta hash keeps its
# indexed values as one line ("status\tworker\tname\tqueue").
# The one rule is ``ix_move(b, id, was, now, score, fresh, state)``: it adds to the
# batch ``b`` (from ``ix_batch()``; ``ix_flush(b)`` writes it) what moves task ``id``
# from its meta line ``was`` (nil: not indexed) to the values ``now``. ``score``: its
# creation time (nil: read ``created`` from ``state``, or now, and add it to the task
# index); ``fresh``: a new submit (the creation time may have changed: every set is
# written again); ``state``: its JSON, read only for the finished time when it
# finishes. It returns the score and the finished time it read (nil: none read), or
# nothing when nothing moved. Two ways in:
# - ``ix_reindex(ids, states, fresh)``: states just stored, their values read from the
#   JSON (the top-level keys: they come before the payload and the timeline, and a
#   quote inside a string value is escaped, so no string value can hold the key), the
#   old values from the meta hash; with ``seen`` (a table), what it read of each task
#   that moved: ``seen[id] = {name, queue, score, finished}`` (see ``mn_seen``);
# - ``ix_new(b, ids, pairs, now)``: tasks whose ids were never seen and that all have
#   the values ``now`` (not finished: a new submit), ``pairs`` their creation times
#   and ids as ZADD takes them: nothing to read, and the same list for every set.
_INDEX = """
local IX, IX_META, IX_IDS = '@IX@', '@META@', '@IDS@'
local IX_FINISHED, IX_DURATION, IX_TASKS = '@FINISHED@', '@DURATION@', '@TASKS@'
local IX_FIELDS = {'status', 'worker', 'name', 'queue'}
local IX_FINAL = {completed = true, failed = true, cancelled = true}
-- Values that name no worker are not indexed: none, and the submitter's (a pending task)
local IX_NOT_INDEXED = {{}, {[''] = true, ['@SUBMITTER@'] = true}, {}, {}}
local ix_keys = {{}, {}, {}, {}}
local function ix_key(f, value)
    local key = ix_keys[f][value]
    if not key then
        key = IX .. IX_FIELDS[f] .. ':' .. value
        ix_keys[f][value] = key
    end
    return key
end
-- The set a task whose field ``f`` has ``value`` is in (nil: none), and the meta line
-- of the values ``now``: what every way in writes.
local function ix_set(f, value)
    if IX_NOT_INDEXED[f][value] then return nil end
    return ix_key(f, value)
end
local function ix_line(now)
    return now[1] .. '\\t' .. now[2] .. '\\t' .. now[3] .. '\\t' .. now[4]
end
local function ix_call(command, key, list, step)
    for first = 1, #list, step do
        redis.call(command, key, unpack(list, first, math.min(first + step - 1, #list)))
    end
end
-- The marks of the keys read below, as literals: a string a script builds costs about
-- a microsecond per call, a literal nothing.
local IX_STR_MARKS = {status = '"status":"', worker = '"worker":"', name = '"name":"',
                      queue = '"queue":"'}
local IX_NUM_MARKS = {created = '"created":', finished = '"finished":'}
-- A top-level string or number of a state's JSON: the first '"key":' is the top-level
-- one (they come before the payload and the timeline, and a quote inside a string
-- value is escaped, so no string value can hold one). Found plainly, then read where
-- found: a pattern search from every position of a state costs more than the rest of
-- a write.
local function ix_str(state, key)
    local at = string.find(state, IX_STR_MARKS[key] or ('"' .. key .. '":"'), 1, true)
    if not at then return nil end
    local value = string.match(state, '^([^"\\\\]*)"', at + #key + 4)
    if value then return value end
    local ok, decoded = pcall(cjson.decode, state)
    if ok and type(decoded) == 'table' and type(decoded[key]) == 'string' then
        return decoded[key]
    end
    return nil
end
local function ix_num(state, key)
    local mark, from = IX_NUM_MARKS[key] or ('"' .. key .. '":'), 1
    while true do
        local at = string.find(state, mark, from, true)
        if not at then return nil end
        local value = tonumber(string.match(state, '^%-?[%d%.eE%+%-]+', at + #mark))
        if value then return value end
        from = at + 1
    end
end
local function ix_now()
    local now = redis.call('TIME')
    return tonumber(now[1]) + tonumber(now[2]) / 1e6
end
local function ix_batch()
    return {adds = {}, rems = {}, meta = {}, ids = {}, indexed = {}, bulk = {},
            finished = {}, durations = {}, unfinished = {}}
end
local function ix_push(sets, key, a, b)
    local list = sets[key]
    if not list then list = {}; sets[key] = list end
    local n = #list
    list[n + 1] = a
    if b then list[n + 2] = b end
end
local IX_NONE = {}
local function ix_move(b, id, was, now, score, fresh, state)
    local line = ix_line(now)
    if was == line and not fresh then return end
    if not score then
        score = ix_num(state, 'created') or ix_now()
        b.indexed[#b.indexed + 1] = score
        b.indexed[#b.indexed + 1] = id
    end
    local before = IX_NONE
    if was then
        before = {}
        for value in string.gmatch(was .. '\\t', '([^\\t]*)\\t') do
            before[#before + 1] = value
        end
    else
        local n = #b.ids
        b.ids[n + 1] = '0'
        b.ids[n + 2] = id
    end
    for f = 1, 4 do
        local old, value = before[f], now[f]
        if old ~= value or fresh then
            local from, to = old and old ~= value and ix_set(f, old), ix_set(f, value)
            if from then ix_push(b.rems, from, id) end
            if to then ix_push(b.adds, to, score, id) end
        end
    end
    local n = #b.meta
    b.meta[n + 1] = id
    b.meta[n + 2] = line
    local finished
    if IX_FINAL[now[1]] then
        if fresh or not IX_FINAL[before[1] or ''] then
            finished = ix_num(state, 'finished')
            local at = finished or ix_now()
            b.finished[#b.finished + 1] = at
            b.finished[#b.finished + 1] = id
            b.durations[#b.durations + 1] = math.max(0, at - tonumber(score))
            b.durations[#b.durations + 1] = id
        end
    elseif IX_FINAL[before[1] or ''] then
        b.unfinished[#b.unfinished + 1] = id
    end
    return score, finished
end
local function ix_new(b, ids, pairs, now)
    for f = 1, 4 do
        local key = ix_set(f, now[f])
        if key then b.bulk[#b.bulk + 1] = {key, pairs} end
    end
    local line, n, m = ix_line(now), #b.ids, #b.meta
    for i = 1, #ids do
        b.ids[n + 1], b.ids[n + 2], n = '0', ids[i], n + 2
        b.meta[m + 1], b.meta[m + 2], m = ids[i], line, m + 2
    end
end
local function ix_flush(b)
    ix_call('ZADD', IX_TASKS, b.indexed, 2000)
    for key, list in pairs(b.rems) do ix_call('ZREM', key, list, 2000) end
    for key, list in pairs(b.adds) do ix_call('ZADD', key, list, 2000) end
    for _, bulk in ipairs(b.bulk) do ix_call('ZADD', bulk[1], bulk[2], 2000) end
    ix_call('HSET', IX_META, b.meta, 2000)
    ix_call('ZADD', IX_IDS, b.ids, 2000)
    ix_call('ZADD', IX_FINISHED, b.finished, 2000)
    ix_call('ZADD', IX_DURATION, b.durations, 2000)
    ix_call('ZREM', IX_FINISHED, b.unfinished, 2000)
    ix_call('ZREM', IX_DURATION, b.unfinished, 2000)
end
local function ix_reindex(ids, states, fresh, seen)
    local n = #ids
    if n == 0 then return end
    local old = redis.call('HMGET', IX_META, unpack(ids))
    local scores = redis.call('ZMSCORE', IX_TASKS, unpack(ids))
    local b = ix_batch()
    for i = 1, n do
        local state, was = states[i], old[i]
        local now = {ix_str(state, 'status') or 'pending', ix_str(state, 'worker') or ''}
        if was and not fresh then  -- a write: name and queue stay what they were
            local name, queue = string.match(was, '^[^\\t]*\\t[^\\t]*\\t([^\\t]*)\\t(.*)$')
            now[3], now[4] = name or '', queue or 'default'
        else
            now[3], now[4] = ix_str(state, 'name') or '', ix_str(state, 'queue') or 'default'
        end
        local score, finished = ix_move(b, ids[i], was or nil, now, scores[i] or nil, fresh, state)
        if seen and score then seen[ids[i]] = {now[3], now[4], score, finished} end
    end
    ix_flush(b)
end
-- Drops every index entry of ``ids`` (their states are being forgotten).
local function ix_forget(ids)
    if #ids == 0 then return end
    local old = redis.call('HMGET', IX_META, unpack(ids))
    local rems = {}
    for i = 1, #ids do
        if old[i] then
            local f = 1
            for value in string.gmatch(old[i] .. '\\t', '([^\\t]*)\\t') do
                ix_push(rems, ix_key(f, value), ids[i])
                f = f + 1
            end
        end
    end
    for key, list in pairs(rems) do ix_call('ZREM', key, list, 2000) end
    for _, key in ipairs({IX_IDS, IX_FINISHED, IX_DURATION, IX_TASKS}) do
        ix_call('ZREM', key, ids, 2000)
    end
    ix_call('HDEL', IX_META, ids, 2000)
end
"""
_INDEX = _INDEX.replace("@SUBMITTER@", SUBMITTER)
# The key names (@IX@...) are filled in per layout: backend.scripts.render.

# -- the per-minute history (see backend.history) ------------------------------------
# ``mn_count(what, queue, name, n)`` counts ``n`` of ``what`` (submitted, completed,
# failed, retried) in total, per queue and per name; ``mn_task(what, state)`` counts
# one for the task whose state JSON is ``state`` (reading its queue and name) and, for
# a finished task, its latency in the histogram (``mn_seen(what, seen, state)``: the
# same from what ix_reindex read). ``mn_flush()`` adds what was counted
# to the current minute's hash (one HINCRBY per field; the expiry is set when the
# hash is created). Needs _INDEX.
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

# -- upkeep left for later (see backend.keys: INDEX_BACKLOG) -----------------------------
LATER_MOST = 8
"""A submit or write of at most this many tasks leaves their index and history upkeep
for later: the task's round trip is what a user waits on, and the upkeep costs about as
much as the rest of both scripts. Bigger batches keep it inline (it is cheap per task
there)."""
SETTLE_SOON = 48
"""Backlog entries at which the caller of the script that added the last settles the
backlog, in the background (:meth:`backend.store.backlog.Backlog.settle_soon`): a few
tasks' upkeep at a time (about two entries a task: its submit, its end), done while
the task's worker or client is busy with its own part of the round trip."""
SETTLE_AT = 1024
"""Backlog entries at which the script that adds one settles the backlog itself: the
bound when no caller settles it (a Go worker's writes do not add to it)."""

# The helpers above are built per call only when used: ``upkeep()`` returns them (each
# call its own, with its own history counts to flush), so a script that stores a few
# tasks and leaves their upkeep for later does not pay for defining them (some 15 µs a
# call, as much as the rest of its work). A script names what it uses:
# ``local U = upkeep()``, then ``U.ix_reindex(...)``.
#
# Upkeep left for later: ``ix_later(entries)`` appends to the backlog an entry per task
# and event, a code letter and the id (``s`` submitted, ``c``/``f``/``x`` completed,
# failed, cancelled, ``r`` retried: ``IX_LATER_CODES``; ``w`` a write with no event),
# and returns the backlog's length, which the scripts return: their caller settles it
# soon, off the task's path (see backend.store.backlog). ``ix_settle()`` does it all at
# once: each task named is indexed from its stored state (from scratch when it was
# submitted meanwhile, as ``ix_reindex(..., fresh)``; one forgotten meanwhile is
# skipped), and each event is counted in this minute's history. Whatever reads the
# indexes or the history runs it first, in the same script (QUERY, FORGET) or just
# before (``SETTLE``); the caller of a script that left upkeep runs it once the backlog
# holds SETTLE_SOON entries, a script itself at SETTLE_AT (when no caller did), and so
# does every worker's housekeeping round. The indexes follow the stored states, so the
# order the upkeep is done in does not change them, and each event is counted once,
# inline or here. @BACKLOG@ and @STATES@ are filled in per layout.
_SETTLE_ENTRIES = """
local IX_STATES = '@STATES@'
local IX_LATER_EVENTS = {s = 'submitted', c = 'completed', f = 'failed', x = 'cancelled',
                         r = 'retried'}
local function ix_settle_entries(entries)
    redis.call('DEL', IX_BACKLOG)
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
local function ix_settle()
    local entries = redis.call('LRANGE', IX_BACKLOG, 0, -1)
    if #entries > 0 then upkeep().ix_settle_entries(entries) end
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
-- KEYS: the backlog (it routes the script). Settles it (see ix_settle). Returns 0.
ix_settle()
return 0
"""
)
