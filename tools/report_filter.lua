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
    error("raw HTML, which the PDF cannot show: " .. el.text ..
          " (write Markdown instead: a blank line for <br>, **bold**, *italic*, a table with |)", 0)
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

-- Keeping together what belongs together: a figure and its caption (the paragraph after
-- an output image that begins with a bold "Figure ..."), and a display equation and the
-- paragraph that leads into it. Each such pair becomes one Typst block that does not
-- break across pages; a figure is centred.

local function is_image(block)
  return (block.t == "Para" or block.t == "Plain") and #block.content == 1
    and block.content[1].t == "Image"
end

local function is_caption(block)
  return block.t == "Para" and #block.content > 0 and block.content[1].t == "Strong"
    and pandoc.utils.stringify(block.content[1]):match("^Figure") ~= nil
end

local function is_display_math(block)
  if block.t ~= "Para" then
    return false
  end
  local found = false
  for _, el in ipairs(block.content) do
    if el.t == "Math" and el.mathtype == "DisplayMath" then
      found = true
    elseif not (el.t == "Space" or el.t == "SoftBreak"
                or (el.t == "Str" and el.text:match("^%p+$"))) then
      return false
    end
  end
  return found
end

local function together(first, second)
  return (is_image(first) and is_caption(second))
    or (first.t == "Para" and not is_display_math(first) and not is_image(first)
        and is_display_math(second))
end

function Pandoc(doc)
  local blocks, out, i = doc.blocks, pandoc.Blocks({}), 1
  while i <= #blocks do
    local block, following = blocks[i], blocks[i + 1]
    if following and together(block, following) then
      out:insert(pandoc.RawBlock("typst", "#block(breakable: false)["))
      if is_image(block) then  -- a figure, centred above its caption
        out:insert(pandoc.RawBlock("typst", "#align(center)["))
        out:insert(block)
        out:insert(pandoc.RawBlock("typst", "]"))
      else
        out:insert(block)
      end
      out:insert(following)
      out:insert(pandoc.RawBlock("typst", "]"))
      i = i + 2
    else
      out:insert(block)
      i = i + 1
    end
  end
  doc.blocks = out
  return doc
end
