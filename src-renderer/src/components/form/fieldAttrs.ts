/** What a form field says around its control. */
export interface FieldCaption {
  label: string
  /** Said after the label in a lighter weight, e.g. "(optional)". */
  note?: string
  /** A line under the control, e.g. the unit or what 0 means. */
  hint?: string
}

/**
 * What a field component (a FormField around one control) hands its FormField: the caption, and
 * the `class` and `style` that place and size the whole field, as on any component.
 */
export function fieldBinding(
  caption: FieldCaption,
  attrs: Record<string, unknown>
): FieldCaption & { class: unknown; style: unknown } {
  return {
    label: caption.label,
    note: caption.note,
    hint: caption.hint,
    class: attrs.class,
    style: attrs.style
  }
}

/** Every attribute but `class` and `style` (`min`, `placeholder`, `disabled`, `data-testid`, …) is the control's. */
export function controlAttrs(attrs: Record<string, unknown>): Record<string, unknown> {
  const { class: _fieldClass, style: _fieldStyle, ...control } = attrs
  return control
}
