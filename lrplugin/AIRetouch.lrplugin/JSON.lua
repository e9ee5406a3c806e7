--[[ JSON.lua: our own JSON encoder and decoder for Lua 5.1 (Lightroom Classic has none).

  local JSON = require 'JSON'
  local text = JSON.encode(value)            -- error(message) on values JSON cannot hold
  local value = JSON.decode(text)            -- error("JSON: ... at line L, column C (byte B)") on bad input
  local ok, value = JSON.tryDecode(text)     -- false, message instead of raising

Choices (Lua tables cannot tell an empty array from an empty object):
  * An empty table encodes as an object `{}`. Mark an array with JSON.array(t) (any size), or use the
    JSON.emptyArray marker; decoded empty arrays carry that mark, so `[]` round-trips as `[]`.
  * A table whose keys are exactly 1..n encodes as an array; a table with string keys as an object (keys sorted,
    so the output is stable); mixed or non-integer number keys are an error. Holes in an array become null.
  * JSON null decodes to nothing inside objects (the key is absent) and to JSON.null inside arrays (so positions
    are kept); JSON.null encodes as null.
  * Integers (up to 2^53) are written without ".0"; other numbers with the fewest significant digits (14 to 17)
    that read back exactly. NaN and infinities are an error.
  * Strings must be UTF-8; non-ASCII passes through unescaped; control characters are escaped. The decoder turns
    \uXXXX (and surrogate pairs) into UTF-8 and rejects lone surrogates.
  * Nesting deeper than JSON.maxDepth (default 500) is an error rather than a stack overflow.
]]

local JSON = { maxDepth = 500 }

local ARRAY_MARK = { __jsontype = 'array' }
JSON.null = setmetatable({}, { __tostring = function() return 'JSON.null' end, __jsontype = 'null' })
JSON.emptyArray = setmetatable({}, { __jsontype = 'array', __newindex = function()
  error('JSON.emptyArray is a shared constant: use JSON.array({}) for an array you fill', 2)
end })

-- Marks t (a new table when nil) to be written as a JSON array even when empty.
function JSON.array(t)
  return setmetatable(t or {}, ARRAY_MARK)
end

function JSON.isArray(t)
  local mt = getmetatable(t)
  return mt ~= nil and mt.__jsontype == 'array'
end

------------------------------------------------------------------------------------------------------------------
-- Encoder
------------------------------------------------------------------------------------------------------------------

local format, byte, char, concat, floor = string.format, string.byte, string.char, table.concat, math.floor

local ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
                  ['\r'] = '\\r', ['\t'] = '\\t' }
for code = 0, 31 do
  local c = char(code)
  if not ESCAPES[c] then ESCAPES[c] = format('\\u%04x', code) end
end
ESCAPES[char(127)] = '\\u007f'

-- Position of the first byte that is not valid UTF-8 (overlongs, surrogates and > U+10FFFF included), or nil.
local function invalidUtf8At(s)
  local i, n = 1, #s
  while i <= n do
    local start = s:find('[\128-\255]', i)
    if not start then return nil end
    i = start
    local c = byte(s, i)
    local count, min
    if c >= 0xC2 and c <= 0xDF then count, min = 1, 0x80
    elseif c >= 0xE0 and c <= 0xEF then count, min = 2, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then count, min = 3, 0x10000
    else return i end
    local cp = c % (2 ^ (6 - count))
    for k = 1, count do
      local cc = byte(s, i + k)
      if not cc or cc < 0x80 or cc > 0xBF then return i end
      cp = cp * 64 + (cc - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return i end
    i = i + count + 1
  end
  return nil
end

local function encodeString(s, path)
  local bad = invalidUtf8At(s)
  if bad then
    error(format('JSON: string at %s is not valid UTF-8 (byte %d)', path, bad), 0)
  end
  return '"' .. s:gsub('[%c"\\\127]', ESCAPES) .. '"'
end

local function toNumber(s)
  local v = tonumber(s)
  if v == nil then v = tonumber((s:gsub('%.', ','))) end -- a C locale with a decimal comma
  return v
end

local function numberText(x, path)
  if x ~= x or x == math.huge or x == -math.huge then
    error(format('JSON: %s is %s, which JSON cannot hold', path, tostring(x)), 0)
  end
  local s
  if floor(x) == x and x >= -2 ^ 53 and x <= 2 ^ 53 then
    s = format('%.0f', x)
    if s == '-0' then s = '0' end
  else
    -- Some C locales write a decimal comma; JSON needs a point.
    for digits = 14, 17 do
      s = format('%.' .. digits .. 'g', x):gsub(',', '.')
      if toNumber(s) == x then break end
    end
  end
  return s
end

local function sortKeys(a, b)
  return a < b
end

local encodeValue

local function encodeTable(t, path, depth, seen, out)
  if seen[t] then error(format('JSON: %s refers to itself (a cycle)', path), 0) end
  if depth > JSON.maxDepth then error(format('JSON: %s is nested deeper than %d', path, JSON.maxDepth), 0) end
  local mt = getmetatable(t)
  if mt and mt.__jsontype == 'null' then out[#out + 1] = 'null'; return end
  seen[t] = true
  local count, maxIndex, strings, others = 0, 0, {}, nil
  for k in pairs(t) do
    count = count + 1
    local kt = type(k)
    if kt == 'string' then
      strings[#strings + 1] = k
    elseif kt == 'number' and k >= 1 and floor(k) == k then
      if k > maxIndex then maxIndex = k end
    else
      others = k
    end
  end
  if others ~= nil then
    error(format('JSON: %s has a key of type %s (%s); only strings or 1..n can be keys', path, type(others),
      tostring(others)), 0)
  end
  if #strings > 0 and #strings < count then
    error(format('JSON: %s mixes array items and named keys', path), 0)
  end
  local isArray = (#strings == 0) and (count > 0 or (mt ~= nil and mt.__jsontype == 'array'))
  if isArray then
    if maxIndex > 2 * count + 16 then
      error(format('JSON: %s is a sparse array (%d items up to index %d)', path, count, maxIndex), 0)
    end
    out[#out + 1] = '['
    for i = 1, maxIndex do
      if i > 1 then out[#out + 1] = ',' end
      local v = t[i]
      if v == nil then out[#out + 1] = 'null' else encodeValue(v, path .. '[' .. i .. ']', depth + 1, seen, out) end
    end
    out[#out + 1] = ']'
  else
    table.sort(strings, sortKeys)
    out[#out + 1] = '{'
    for i, k in ipairs(strings) do
      if i > 1 then out[#out + 1] = ',' end
      out[#out + 1] = encodeString(k, path)
      out[#out + 1] = ':'
      encodeValue(t[k], path .. '.' .. k, depth + 1, seen, out)
    end
    out[#out + 1] = '}'
  end
  seen[t] = nil
end

encodeValue = function(v, path, depth, seen, out)
  local vt = type(v)
  if vt == 'string' then
    out[#out + 1] = encodeString(v, path)
  elseif vt == 'number' then
    out[#out + 1] = numberText(v, path)
  elseif vt == 'boolean' then
    out[#out + 1] = v and 'true' or 'false'
  elseif vt == 'nil' then
    out[#out + 1] = 'null'
  elseif vt == 'table' then
    encodeTable(v, path, depth, seen, out)
  else
    error(format('JSON: %s is a %s, which JSON cannot hold', path, vt), 0)
  end
end

function JSON.encode(value)
  local out = {}
  encodeValue(value, '$', 1, {}, out)
  return concat(out)
end

------------------------------------------------------------------------------------------------------------------
-- Decoder
------------------------------------------------------------------------------------------------------------------

local function where(text, pos)
  local line, lastBreak = 1, 0
  local i = text:find('\n', 1, true)
  while i and i < pos do
    line = line + 1
    lastBreak = i
    i = text:find('\n', i + 1, true)
  end
  return format('line %d, column %d (byte %d)', line, pos - lastBreak, pos)
end

local function fail(text, pos, message)
  error(format('JSON: %s at %s', message, where(text, pos)), 0)
end

local function utf8Char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local SIMPLE_ESCAPES = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }

local function skip(text, pos)
  local _, e = text:find('^[ \t\r\n]*', pos)
  return e + 1
end

local function hex4(text, pos)
  local h = text:match('^%x%x%x%x', pos)
  if not h then fail(text, pos - 2, 'expected four hex digits after \\u') end
  return tonumber(h, 16)
end

local function decodeString(text, pos)
  -- pos is just after the opening quote
  local parts, n, start = {}, 0, pos - 1
  while true do
    local s = text:find('["\\%c]', pos)
    if not s then fail(text, pos, 'unterminated string') end
    if s > pos then n = n + 1; parts[n] = text:sub(pos, s - 1) end
    local c = text:sub(s, s)
    if c == '"' then
      local str = concat(parts)
      local bad = invalidUtf8At(str)
      if bad then fail(text, start, 'string is not valid UTF-8') end
      return str, s + 1
    elseif c == '\\' then
      local e = text:sub(s + 1, s + 1)
      if e == 'u' then
        local cp = hex4(text, s + 2)
        local nextPos = s + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          if text:sub(nextPos, nextPos + 1) ~= '\\u' then fail(text, s, 'lone high surrogate in \\u escape') end
          local low = hex4(text, nextPos + 2)
          if low < 0xDC00 or low > 0xDFFF then fail(text, nextPos, 'high surrogate not followed by a low one') end
          cp = 0x10000 + (cp - 0xD800) * 1024 + (low - 0xDC00)
          nextPos = nextPos + 6
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          fail(text, s, 'lone low surrogate in \\u escape')
        end
        n = n + 1; parts[n] = utf8Char(cp)
        pos = nextPos
      elseif SIMPLE_ESCAPES[e] then
        n = n + 1; parts[n] = SIMPLE_ESCAPES[e]
        pos = s + 2
      else
        fail(text, s, e == '' and 'unterminated string' or ('invalid escape \\' .. e))
      end
    else
      fail(text, s, format('control character (code %d) inside a string', byte(c)))
    end
  end
end

local function decodeNumber(text, pos)
  -- JSON is stricter than Lua: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?
  local p = pos
  local int = text:match('^-?%d+', p)
  if not int or int:match('^-?0%d') then
    fail(text, pos, 'invalid number ' .. (text:match('^[-+%w.]+', pos) or ''))
  end
  p = p + #int
  if text:sub(p, p) == '.' then
    local frac = text:match('^%.%d+', p)
    if not frac then fail(text, pos, 'invalid number ' .. text:sub(pos, p)) end
    p = p + #frac
  end
  if text:sub(p, p) == 'e' or text:sub(p, p) == 'E' then
    local exp = text:match('^[eE][-+]?%d+', p)
    if not exp then fail(text, pos, 'invalid number ' .. (text:match('^[-+%w.]+', pos) or '')) end
    p = p + #exp
  end
  local s = text:sub(pos, p - 1)
  local v = toNumber(s)
  if v == nil or v ~= v then fail(text, pos, 'invalid number ' .. s) end
  if v == math.huge or v == -math.huge then fail(text, pos, 'number out of range ' .. s) end
  return v, p
end

local decodeValue

local function decodeArray(text, pos, depth)
  local result, n = {}, 0
  pos = skip(text, pos)
  if text:sub(pos, pos) == ']' then return JSON.array(result), pos + 1 end
  while true do
    local v
    v, pos = decodeValue(text, pos, depth + 1)
    n = n + 1
    if v == nil then result[n] = JSON.null else result[n] = v end
    pos = skip(text, pos)
    local c = text:sub(pos, pos)
    if c == ']' then return result, pos + 1 end
    if c ~= ',' then fail(text, pos, c == '' and "unexpected end of text, expected ',' or ']'" or
      ("expected ',' or ']' but found '" .. c .. "'")) end
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == ']' then fail(text, pos, "trailing comma before ']'") end
  end
end

local function decodeObject(text, pos, depth)
  local result = {}
  pos = skip(text, pos)
  if text:sub(pos, pos) == '}' then return result, pos + 1 end
  while true do
    if text:sub(pos, pos) ~= '"' then
      fail(text, pos, text:sub(pos, pos) == '' and 'unexpected end of text, expected a key' or
        'expected a string key')
    end
    local key
    key, pos = decodeString(text, pos + 1)
    pos = skip(text, pos)
    if text:sub(pos, pos) ~= ':' then fail(text, pos, "expected ':' after the key") end
    local v
    v, pos = decodeValue(text, skip(text, pos + 1), depth + 1)
    result[key] = v
    pos = skip(text, pos)
    local c = text:sub(pos, pos)
    if c == '}' then return result, pos + 1 end
    if c ~= ',' then fail(text, pos, c == '' and "unexpected end of text, expected ',' or '}'" or
      ("expected ',' or '}' but found '" .. c .. "'")) end
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == '}' then fail(text, pos, "trailing comma before '}'") end
  end
end

-- Returns value (nil for null), next position.
decodeValue = function(text, pos, depth)
  if depth > JSON.maxDepth then fail(text, pos, 'nested deeper than ' .. JSON.maxDepth) end
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == '{' then return decodeObject(text, pos + 1, depth) end
  if c == '[' then return decodeArray(text, pos + 1, depth) end
  if c == '"' then return decodeString(text, pos + 1) end
  if c == '-' or c:match('%d') then return decodeNumber(text, pos) end
  if text:sub(pos, pos + 3) == 'true' then return true, pos + 4 end
  if text:sub(pos, pos + 4) == 'false' then return false, pos + 5 end
  if text:sub(pos, pos + 3) == 'null' then return nil, pos + 4 end
  if c == '' then fail(text, pos, 'unexpected end of text, expected a value') end
  fail(text, pos, "unexpected character '" .. c .. "'")
end

function JSON.decode(text)
  if type(text) ~= 'string' then error('JSON: decode needs a string, got ' .. type(text), 2) end
  local start = 1
  if text:sub(1, 3) == '\239\187\191' then start = 4 end -- a UTF-8 byte order mark
  local value, pos = decodeValue(text, start, 1)
  pos = skip(text, pos)
  if pos <= #text then fail(text, pos, 'unexpected text after the value') end
  return value
end

function JSON.tryDecode(text)
  local ok, result = pcall(JSON.decode, text)
  if ok then return true, result end
  return false, result
end

return JSON
