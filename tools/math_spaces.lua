-- Pandoc filter used by build_report.py. Pandoc's Typst writer rounds math spaces down to
-- whole ems (\; becomes 0em, \! becomes -1em), so these spaces are handed over as \text{}
-- placeholders, which build_report.py replaces with the exact Typst spaces (MATH_SPACES).
local names = { [";"] = "thick", ["!"] = "negthin", enspace = "en" }

local function placeholder(slashes, command)
  -- An even number of backslashes is a line break (\\) followed by plain text.
  if #slashes % 2 == 1 then
    return slashes:sub(2) .. "\\text{TYPSTSPACE" .. names[command] .. "}"
  end
end

function Math(el)
  local text = el.text:gsub("(\\+)([;!])", placeholder)
  text = text:gsub("(\\+)(enspace)%f[%A]", placeholder)
  el.text = text
  return el
end
