-- Pandoc filter of build_report.py: what the Markdown holds besides plain text and $ math.
--
-- * Math spaces: pandoc's Typst writer rounds them down to whole ems (\; becomes 0em, \!
--   becomes -1em), so they are handed over as \text{} placeholders, which build_report.py
--   replaces with the exact Typst spaces (MATH_SPACES there).
-- * Raw TeX: a math environment written without $$ (\begin{align} ... \end{align}, which
--   Jupyter renders) becomes display math. Any other raw TeX or HTML would be dropped by
--   the Typst writer without a word, so it stops the build instead. HTML comments are
--   meant to be invisible and are dropped.

local SPACE_NAMES = { [";"] = "thick", ["!"] = "negthin", enspace = "en" }
local MATH_ENVIRONMENTS = {
  align = true, aligned = true, alignat = true, equation = true, gather = true,
  multline = true, eqnarray = true, split = true, cases = true,
}

local function placeholder(slashes, command)
  -- An even number of backslashes is a line break (\\) followed by plain text.
  if #slashes % 2 == 1 then
    return slashes:sub(2) .. "\\text{TYPSTSPACE" .. SPACE_NAMES[command] .. "}"
  end
end

local function protect_spaces(tex)
  local text = tex:gsub("(\\+)([;!])", placeholder)
  text = text:gsub("(\\+)(enspace)%f[%A]", placeholder)
  return text
end

local function from_raw(el)
  if el.format == "tex" or el.format == "latex" then
    local environment = el.text:match("^%s*\\begin{(%a+)%*?}")
    if environment and MATH_ENVIRONMENTS[environment] then
      return pandoc.Math("DisplayMath", protect_spaces(el.text))
    end
    error("raw TeX outside a formula (put it between $ signs): " .. el.text, 0)
  elseif el.format == "html" then
    if el.text:match("^%s*<!%-%-.*%-%->%s*$") then
      return {}
    end
    error("raw HTML, which the PDF cannot show: " .. el.text, 0)
  end
  error("raw " .. el.format .. ", which the PDF cannot show: " .. el.text, 0)
end

function Math(el)
  el.text = protect_spaces(el.text)
  return el
end

function RawInline(el)
  return from_raw(el)
end

function RawBlock(el)
  local result = from_raw(el)
  if result.t == "Math" then
    return pandoc.Para({ result })
  end
  return result
end
