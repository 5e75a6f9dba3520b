"""The scripts that store task states: ``SUBMIT`` (new tasks), ``WRITE`` (workers'
updates, counters and acks) and ``RECORD`` (a state only the channel told of).
"""

from __future__ import annotations

from backend.scripts.upkeep import UPKEEP

SUBMIT = (
    UPKEEP
    + """
-- KEYS: states, index, stream (or, for delayed tasks, the queue's schedule: a sorted
-- set), counters, cancelled (``announce`` publishes an update: see backend.scripts).
-- ARGV: n, the task field, the queue, the submitter (the pending states' worker),
-- then n ids, n states, n creation times, n tasks, n pending updates, n names, then
-- the id check, then for delayed tasks n due times. The states come first: a
-- worker's update must never be overwritten by the pending one.
-- The id check: '' (none: fresh ids, never seen), 'again' (none: ids that may have
-- a state, queued again whatever it is), 'check' or 'replace'. With a check, a task
-- whose id has an unfinished state is a duplicate (left alone), one whose task
-- finished is refused ('check': then nothing is queued) or queued again from
-- scratch ('replace'). Returns {tasks indexed, one code per checked task: 'q'
-- queued, 'd' duplicate, 'f' refused (finished), 'r' replaced, the backlog's length
-- (0 unless the upkeep was left for later)}.
-- A task never seen is indexed from the values given (ix_new); one queued again from
-- its state (ix_reindex). A call of at most IX_LATER_MOST tasks leaves their indexing
-- and history for later (ix_later: see backend.scripts.upkeep).
local n, field, queue, submitter = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local ids, states, scores, tasks = 4, 4 + n, 4 + 2 * n, 4 + 3 * n
local updates, names, dues = 4 + 4 * n, 4 + 5 * n, 5 + 6 * n
local mode = ARGV[dues] or ''
local codes, take = {}, {}
if mode == 'check' or mode == 'replace' then
    local FINAL = {completed = true, failed = true, cancelled = true}
    local refused, seen = false, {}
    for i = 1, n do
        local id = ARGV[ids + i]
        local code = 'q'
        if seen[id] then
            code = 'd'
        else
            local old = redis.call('HGET', KEYS[1], id)
            if old then
                -- the first "status" key is the top-level one (it precedes the
                -- payload; a quote inside a string value is escaped)
                local at = string.find(old, '"status":"', 1, true)
                local status = at and string.match(old, '^(%a+)', at + 10)
                if not FINAL[status] then code = 'd'
                elseif mode == 'replace' then code = 'r'
                else code, refused = 'f', true end
            end
        end
        seen[id] = true
        codes[i] = code
        if code ~= 'd' then take[#take + 1] = i end
    end
    if refused then return {redis.call('ZCARD', KEYS[2]), table.concat(codes), 0} end
else
    for i = 1, n do take[i] = i end
end
-- A few tasks leave their upkeep for later: the states and the task index are written
-- as for any, and each task is noted in the backlog instead of indexed and counted.
local again, later, backlog = mode == 'again', #take <= IX_LATER_MOST, 0
local U, named = not later and upkeep() or nil, {}
for first = 1, #take, 1000 do
    local hset, zadd, del, rid, rstate, groups, entries = {}, {}, {}, {}, {}, {}, {}
    for k = first, math.min(first + 999, #take) do
        local i = take[k]
        local id, state, score = ARGV[ids + i], ARGV[states + i], ARGV[scores + i]
        local name = ARGV[names + i]
        hset[#hset + 1] = id
        hset[#hset + 1] = state
        if codes[i] == 'r' then del[#del + 1] = id end
        if later or again or codes[i] == 'r' then
            zadd[#zadd + 1] = score
            zadd[#zadd + 1] = id
            if later then
                entries[#entries + 1] = 's' .. id
            else
                rid[#rid + 1] = id
                rstate[#rstate + 1] = state
            end
        else  -- never seen: grouped by name, indexed as such (ix_new)
            local group = groups[name]
            if not group then group = {{}, {}}; groups[name] = group end
            local gids, gpairs = group[1], group[2]
            gids[#gids + 1] = id
            gpairs[#gpairs + 1] = score
            gpairs[#gpairs + 1] = id
        end
        named[name] = (named[name] or 0) + 1
    end
    redis.call('HSET', KEYS[1], unpack(hset))
    if #zadd > 0 then redis.call('ZADD', KEYS[2], unpack(zadd)) end
    if #del > 0 then redis.call('HDEL', KEYS[5], unpack(del)) end
    if later then
        backlog = ix_later(entries)
    else
        local b = U.ix_batch()
        for name, group in pairs(groups) do
            redis.call('ZADD', KEYS[2], unpack(group[2]))
            U.ix_new(b, group[1], group[2], {'pending', submitter, name, queue})
        end
        U.ix_flush(b)
        if #rid > 0 then U.ix_reindex(rid, rstate, true) end
    end
end
if U then
    for name, count in pairs(named) do U.mn_count('submitted', queue, name, count) end
    U.mn_flush()
end
if #ARGV > dues then
    for _, i in ipairs(take) do redis.call('ZADD', KEYS[3], ARGV[dues + i], ARGV[tasks + i]) end
else
    for _, i in ipairs(take) do redis.call('XADD', KEYS[3], '*', field, ARGV[tasks + i]) end
end
for _, i in ipairs(take) do announce(ARGV[updates + i]) end
if #take > 0 then redis.call('HINCRBY', KEYS[4], 'submitted', #take) end
return {redis.call('ZCARD', KEYS[2]), table.concat(codes), backlog}
"""
)

_ORDER = """
local RANK = {pending = 0, processing = 1, retrying = 1, completed = 2, failed = 2, cancelled = 2}
local FINAL = {completed = true, failed = true, cancelled = true}
-- A state's (attempt, seq, status), read from its JSON: the first "status" and
-- "attempt" keys are the top-level fields (they come in this order before the
-- payload and the timeline, and a quote inside a string value is escaped, so no
-- string value can hold them).
local find, match = string.find, string.match
local function order(state)
    local at = find(state, '"status":"', 1, true)
    local status = at and match(state, '^(%a+)', at + 10)
    at = find(state, '"attempt":', at or 1, true)
    if not at then return 0, 0, status end
    local attempt, seq = match(state, '^(%-?%d+),"seq":(%-?%d+)', at + 10)
    return tonumber(attempt) or 0, tonumber(seq) or 0, status
end
-- Whether a state at (a, s, status) may replace a stored one: not older by
-- (attempt, seq, rank), and a finished task stays finished (a new submit, not a
-- write, queues it again).
local function newer(a, s, status, sa, ss, sstatus)
    if FINAL[sstatus] and not FINAL[status] then return false end
    if a ~= sa then return a > sa end
    if s ~= ss then return s > ss end
    return (RANK[status] or 0) >= (RANK[sstatus] or 0)
end
"""

WRITE = (
    UPKEEP
    + _ORDER
    + """
-- KEYS: states, counters, stream, cancelled, index. ARGV: group, then how
-- many updates, state fields+values, counter names+increments, acks, forgotten
-- cancels, then those lists in that order.
-- A state is stored unless the stored one is newer (see newer). A stored state that
-- finishes its task adds 1 to that status's counter (once: a finished task stays
-- finished), one that retries adds 1 to 'retried'. A task with no state yet (one a
-- Go manager queued) is indexed by its creation time, so retention trims it. The
-- acks come after the states are written. A call of at most IX_LATER_MOST states
-- leaves their indexing and history for later (ix_later: see backend.scripts.upkeep).
-- Returns the backlog's length then, else 0.
local sizes = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
               tonumber(ARGV[5]), tonumber(ARGV[6])}
local at = 7
local function each(size, step, call)
    for first = at, at + size - 1, step do
        call(first, math.min(first + step, at + size) - 1)
    end
    at = at + size
end
each(sizes[1], 1, function(i) announce(ARGV[i]) end)
local hset, counts, tallies = {}, {}, {}
local later = sizes[2] <= 2 * IX_LATER_MOST  -- a few states: upkeep left for later
local U = not later and upkeep() or nil
local backlog = 0
-- counted once: in total now, in the minute's history once indexed (mn_seen)
local function count(name, id, state)
    counts[name] = (counts[name] or 0) + 1
    tallies[#tallies + 1] = {name, id, state}
end
each(sizes[2], 1000, function(first, last)
    local ids = {}
    for i = first, last, 2 do ids[#ids + 1] = ARGV[i] end
    local stored = redis.call('HMGET', KEYS[1], unpack(ids))
    for k = 1, #ids do
        local id, state, old = ids[k], ARGV[first + 2 * k - 1], stored[k]
        local a, s, status = order(state)
        local keep, counted = true, FINAL[status]
        if old then
            local sa, ss, sstatus = order(old)
            keep = newer(a, s, status, sa, ss, sstatus)
            counted = FINAL[status] and not FINAL[sstatus]
            if keep and status == 'retrying' and not (sstatus == 'retrying' and sa == a) then
                count('retried', id, state)
            end
        else
            local L = U or upkeep()
            local created = L.ix_num(state, 'created') or L.ix_now()
            redis.call('ZADD', KEYS[5], 'NX', created, id)
            if status == 'retrying' then count('retried', id, state) end
        end
        if keep then
            if counted then count(status, id, state) end
            hset[#hset + 1] = id
            hset[#hset + 1] = state
        end
    end
    if #hset > 0 and later then
        redis.call('HSET', KEYS[1], unpack(hset))
        local entries, tallied = {}, {}
        for _, t in ipairs(tallies) do
            entries[#entries + 1] = IX_LATER_CODES[t[1]] .. t[2]
            tallied[t[2]] = true
        end
        for k = 1, #hset, 2 do  -- an event reindexes its task: 'w' for the others
            if not tallied[hset[k]] then entries[#entries + 1] = 'w' .. hset[k] end
        end
        backlog = ix_later(entries)
        hset = {}
    elseif #hset > 0 then
        redis.call('HSET', KEYS[1], unpack(hset))
        local kept, written = {}, {}
        for k = 1, #hset, 2 do kept[#kept + 1] = hset[k]; written[#written + 1] = hset[k + 1] end
        local seen = {}
        U.ix_reindex(kept, written, false, seen)
        hset = {}
        for _, t in ipairs(tallies) do U.mn_seen(t[1], seen[t[2]], t[3]) end
    end
    tallies = {}
end)
for name, n in pairs(counts) do redis.call('HINCRBY', KEYS[2], name, n) end
if U then U.mn_flush() end
each(sizes[3], 2, function(i) redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end)
each(sizes[4], 2000, function(i, j)
    redis.call('XACK', KEYS[3], ARGV[1], unpack(ARGV, i, j))
end)
each(sizes[5], 2000, function(i, j) redis.call('HDEL', KEYS[4], unpack(ARGV, i, j)) end)
return backlog
"""
)

RECORD = (
    UPKEEP
    + """
-- KEYS: states, index, counters, seen workers. ARGV: task id, its state as it was
-- read ('' when there was none), the new state, its creation time, the worker the
-- update names ('' for none), now, then counter names to add 1 to.
-- Notes the worker, then stores the state only if the stored one is still what was
-- read (compare and set: several recorders may run); a new task is indexed.
-- Returns 1 when stored, 0 when the stored state changed meanwhile (read it again).
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[5], ARGV[6]) end
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if (stored or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if not stored then redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[1]) end
local U = upkeep()
U.ix_reindex({ARGV[1]}, {ARGV[3]}, false)
for i = 7, #ARGV do
    redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
    U.mn_task(ARGV[i], ARGV[3])
end
U.mn_flush()
return 1
"""
)
