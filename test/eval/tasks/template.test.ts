import { describe, expect, it } from 'vitest'
import { TaskTemplate } from '../../../src-main/eval/tasks/template'

const render = (source: string, doc: Record<string, unknown> = {}) => new TaskTemplate(source).render(doc)

/** Each expectation is what lm-eval's jinja2 environment renders. */
describe('task templates rendered as lm-eval renders them', () => {
  it('fails on a name or key the document lacks (StrictUndefined)', () => {
    expect(() => render('{{ missing }}')).toThrow("'missing' is undefined")
    expect(() => render('{{ doc.missing }}', { doc: {} })).toThrow("'doc.missing' is undefined")
    expect(() => render('{% for x in missing %}{% endfor %}')).toThrow("'missing' is undefined")
  })

  it('still lets `is defined` and `default` see what is undefined', () => {
    expect(render('{% if x is defined %}y{% else %}n{% endif %}')).toBe('n')
    expect(render('{{ x | default("d") }}')).toBe('d')
  })

  it('keeps a trailing newline and the whitespace around blocks', () => {
    expect(render('Q: {{ q }}\n', { q: 'hi' })).toBe('Q: hi\n')
    expect(render('{% for c in cs %}\n- {{ c }}\n{% endfor %}', { cs: ['a', 'b'] })).toBe('\n- a\n\n- b\n')
  })

  it("has Python's list.index, string methods and range", () => {
    expect(
      render('{{ choices.label.index(answerKey) }}', { choices: { label: ['A', 'B', 'C'] }, answerKey: 'C' })
    ).toBe('2')
    expect(() => render('{{ labels.index("E") }}', { labels: ['A'] })).toThrow('"E" is not in list')
    expect(render("{{ answer.split('#### ')[-1].strip() }}", { answer: 'x\n#### 42 ' })).toBe('42')
    expect(render('{{ range(3) | list }}')).toBe('[0, 1, 2]')
    expect(render('{{ range }}', { range: 'a column' })).toBe('a column')
  })

  it('reports a template that does not parse', () => {
    expect(() => new TaskTemplate('{{ x')).toThrow(/cannot parse the template/)
    // A hostile range() is refused before it builds its values (the import reader renders these).
    expect(() => render('{% for i in range(10**12) %}{% endfor %}')).toThrow(
      /range\(0, 1000000000000, 1\) makes 1000000000000 values; a template may make at most 1000000/
    )
    expect(render('{% for i in range(3) %}{{ i }}{% endfor %}')).toBe('012')
  })
})
