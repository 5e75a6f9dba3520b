"""The console's scripts: ``QUERY`` (a filtered page of tasks), ``FORGET`` (drop tasks'
states and index entries) and ``RELEASE`` (queue pending entries again).
"""

from __future__ import annotations

from backend.scripts.upkeep import UPKEEP

FORGET = (
    UPKEEP
    + """
-- KEYS: states, cancelled. ARGV: task ids. Forgets those tasks: their states, index
-- entries and cancel requests (the upkeep left for later settled first). Returns how
-- many states there were.
ix_settle()
local U, gone = upkeep(), 0
for first = 1, #ARGV, 2000 do
    local ids = {unpack(ARGV, first, math.min(first + 1999, #ARGV))}
    gone = gone + redis.call('HDEL', KEYS[1], unpack(ids))
    redis.call('HDEL', KEYS[2], unpack(ids))
    U.ix_forget(ids)
end
return gone
"""
)

QUERY = (
    UPKEEP
    + """
-- KEYS: the sort set (the task index: by creation; or the finished or duration set),
-- the states, two scratch keys, the task index, the id set, then the filter sets
-- (each scored by creation time).
-- ARGV: descending (1/0), since, until (creation bounds), id prefix ('' for none),
-- offset, limit, needle ('' for none; lowercased), its JSON form, the rank to walk
-- from, the most entries to walk (0: no bound), count (1/0).
-- Returns {total (-1 when not counted), next rank (-1 at the end), matches skipped,
-- ids...}: the ids of one page, in order; the next call from that rank (and offset 0)
-- goes on where this one stopped. Filters intersect; the walk goes along the
-- smallest set, checking the others with ZMSCORE, so a page costs about its own size
-- when matches are dense, and never a scan of the states unless a needle is given.
-- The upkeep left for later is settled first (see backend.scripts.upkeep).
ix_settle()
local sortset, states, tmp1, tmp2 = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tasks, idset = KEYS[5], KEYS[6]
local desc, since, till, prefix = ARGV[1] == '1', ARGV[2], ARGV[3], ARGV[4]
local offset, limit, needle, jneedle = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local pos, budget, counting = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1'
local filters = {}
for i = 7, #KEYS do filters[#filters + 1] = KEYS[i] end
if prefix ~= '' then
    redis.call('ZRANGESTORE', tmp1, idset, '[' .. prefix, '(' .. prefix .. '\\255', 'BYLEX')
    redis.call('ZINTERSTORE', tmp1, 2, tmp1, tasks, 'WEIGHTS', 0, 1)
    filters[#filters + 1] = tmp1
end
if #filters == 0 then filters[1] = tasks end
local sizes = {}
for _, key in ipairs(filters) do sizes[key] = redis.call('ZCARD', key) end
table.sort(filters, function(a, b) return sizes[a] < sizes[b] end)
local ranged = since ~= '-inf' or till ~= '+inf'
local walk, checks, lo, hi = filters[1], {}, since, till
local total = -1
if sortset == tasks then
    for i = 2, #filters do checks[#checks + 1] = filters[i] end
    if counting then
        if #checks == 0 then
            total = redis.call('ZCOUNT', walk, since, till)
        elseif sizes[walk] == 0 then
            total = 0
        else
            local first = walk
            if ranged then
                redis.call('ZRANGESTORE', tmp2, walk, since, till, 'BYSCORE')
                first = tmp2
            end
            total = redis.call('ZINTERCARD', #filters, first, unpack(checks))
            -- Few matches: store them (scored by creation) rather than walk past
            -- many that miss.
            if total <= 50000 and needle == '' then
                local args = {tmp2, #filters, first}
                for _, key in ipairs(checks) do args[#args + 1] = key end
                args[#args + 1] = 'WEIGHTS'
                for i = 1, #filters do args[#args + 1] = i == 1 and 1 or 0 end
                redis.call('ZINTERSTORE', unpack(args))
                walk, checks = tmp2, {}
            end
        end
    end
else
    lo, hi = '-inf', '+inf'
    if #filters == 1 and filters[1] == tasks and not ranged then
        walk = sortset
    else
        local first = filters[1]
        if ranged then
            redis.call('ZRANGESTORE', tmp2, first, since, till, 'BYSCORE')
            first = tmp2
        end
        local args = {tmp2, #filters + 1, sortset, first}
        for i = 2, #filters do args[#args + 1] = filters[i] end
        args[#args + 1] = 'WEIGHTS'
        for i = 0, #filters do args[#args + 1] = i == 0 and 1 or 0 end
        redis.call('ZINTERSTORE', unpack(args))
        walk = tmp2
    end
    if counting then total = redis.call('ZCARD', walk) end
end
-- The walk by rank (a skiplist finds a rank in O(log N)): entry ``from`` of the ones
-- in [lo, hi], in order, is at rank base + from; a deep page costs its own size, not
-- its offset (BYSCORE ... LIMIT walks past the offset).
local base, inrange = 0, redis.call('ZCOUNT', walk, lo, hi)
if desc then
    if hi ~= '+inf' then base = redis.call('ZCOUNT', walk, '(' .. hi, '+inf') end
elseif lo ~= '-inf' then
    base = redis.call('ZCOUNT', walk, '-inf', '(' .. lo)
end
local function range(from, count)
    if from >= inrange or count <= 0 then return {} end
    local first, last = base + from, base + math.min(from + count, inrange) - 1
    if desc then return redis.call('ZRANGE', walk, first, last, 'REV') end
    return redis.call('ZRANGE', walk, first, last)
end
local function matches(id, state)
    if not state then return false end
    if string.find(string.lower(id), needle, 1, true) then return true end
    if not string.find(string.lower(state), jneedle, 1, true) then return false end
    local ok, decoded = pcall(cjson.decode, state)
    if not ok or type(decoded) ~= 'table' then return false end
    for _, field in ipairs({'message', 'error'}) do
        local value = decoded[field]
        if type(value) == 'string' and string.find(string.lower(value), needle, 1, true) then
            return true
        end
    end
    return false
end
local page, skipped, nextpos = {}, 0, -1
if limit > 0 and total ~= 0 then
    if #checks == 0 and needle == '' then
        page = range(pos + offset, limit)
        nextpos = pos + offset + #page
        if #page < limit then nextpos = -1 end
        skipped = offset
    else
        local chunk, walked = 200, 0
        nextpos = pos
        while #page < limit do
            if budget > 0 and walked >= budget then break end
            local ids = range(nextpos, chunk)
            if #ids == 0 then nextpos = -1; break end
            local keep = {}
            for j = 1, #ids do keep[j] = true end
            for _, key in ipairs(checks) do
                local scores = redis.call('ZMSCORE', key, unpack(ids))
                for j = 1, #ids do if not scores[j] then keep[j] = false end end
            end
            local raws = {}
            if needle ~= '' then raws = redis.call('HMGET', states, unpack(ids)) end
            local used = #ids
            for j = 1, #ids do
                if keep[j] and (needle == '' or matches(ids[j], raws[j])) then
                    if skipped < offset then
                        skipped = skipped + 1
                    else
                        page[#page + 1] = ids[j]
                        if #page == limit then used = j; break end
                    end
                end
            end
            nextpos = nextpos + used
            walked = walked + used
            chunk = math.min(chunk * 2, 5000)
        end
    end
end
redis.call('DEL', tmp1, tmp2)
local reply = {total, nextpos, skipped}
for _, id in ipairs(page) do reply[#reply + 1] = id end
return reply
"""
)

RELEASE = """
-- KEYS: stream. ARGV: group, the task field, entry ids. Each entry still pending in
-- the group is queued again as a new entry and the old one acknowledged and deleted,
-- in one step; an entry acknowledged meanwhile is left alone. Returns the new ids.
local moved = {}
for i = 3, #ARGV do
    local id = ARGV[i]
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #pending == 1 and #entry == 1 then
        local fields = entry[1][2]
        local raw
        for k = 1, #fields, 2 do if fields[k] == ARGV[2] then raw = fields[k + 1] end end
        if raw then
            moved[#moved + 1] = redis.call('XADD', KEYS[1], '*', ARGV[2], raw)
            redis.call('XACK', KEYS[1], ARGV[1], id)
            redis.call('XDEL', KEYS[1], id)
        end
    end
end
return moved
"""
