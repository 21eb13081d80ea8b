/**
 * Regular expressions written for Python's `re` (lm-eval's filters and `regexes_to_ignore`), run
 * with RE2. A task file may come from anyone: RE2 matches in time linear in the text, so no
 * pattern can hang the process the way a backtracking engine can.
 *
 * RE2 reads Python's syntax: `(?P<name>…)`, inline flags such as `(?s)` and `(?i)`, `\A`; `\Z`
 * is turned into RE2's `\z`. What RE2 cannot run (look-around, back-references, `(?x)`) is
 * refused when the task file is loaded. Remaining differences, documented in docs/EVALUATION.md:
 * `\d`, `\w`, `\s` and `\b` are ASCII-only (Python's are Unicode), and `$` without `(?m)` matches
 * only at the very end (Python's also matches before a final line break).
 */
import RE2 from 're2'

export class PythonRegex {
  readonly source: string
  private readonly global: RE2

  /** Throws with RE2's reason when the pattern cannot be compiled. */
  constructor(source: string) {
    this.source = source
    this.global = new RE2(toRe2Syntax(source), 'gu')
  }

  /**
   * Python's `re.findall`: each match's text when the pattern has no group, its one group when it
   * has one, and the tuple of its groups when it has more (a group that did not take part is '').
   */
  findall(text: string): (string | string[])[] {
    const found: (string | string[])[] = []
    this.global.lastIndex = 0
    for (let match = this.global.exec(text); match; match = this.global.exec(text)) {
      const groups = match.slice(1).map((group) => group ?? '')
      found.push(groups.length === 0 ? match[0] : groups.length === 1 ? groups[0] : groups)
      // An empty match would be found again at the same place: step over one character.
      if (match[0] === '') this.global.lastIndex = nextCharacter(text, match.index)
    }
    return found
  }

  /** Python's `re.sub(pattern, replacement, text)` for a replacement without group references. */
  removeAll(text: string): string {
    this.global.lastIndex = 0
    return text.replace(this.global, '')
  }
}

/** The index after the character at `at`, a surrogate pair counting as one character. */
function nextCharacter(text: string, at: number): number {
  const code = text.charCodeAt(at)
  return code >= 0xd800 && code <= 0xdbff && at + 1 < text.length ? at + 2 : at + 1
}

/** Python's `\Z` (end of text) is RE2's `\z`; everything else RE2 reads as Python writes it. */
function toRe2Syntax(source: string): string {
  let out = ''
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\' && i + 1 < source.length) {
      out += source[i + 1] === 'Z' ? '\\z' : c + source[i + 1]
      i++
    } else {
      out += c
    }
  }
  return out
}
