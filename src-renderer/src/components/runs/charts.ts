/** Line colours, in the order runs and metrics are drawn; readable on white and told apart in print. */
export const CHART_COLORS = [
  '#3d5af1',
  '#e8743b',
  '#19a979',
  '#c23d80',
  '#945ecf',
  '#13a4b4',
  '#d4a106',
  '#6c8893',
  '#ed4a7b',
  '#2b7a0b',
  '#8b572a',
  '#525df4'
] as const

export function chartColor(index: number): string {
  return CHART_COLORS[index % CHART_COLORS.length]
}

/** The x axis of every chart over training steps: whole steps, from the first point drawn. */
export const STEP_AXIS = {
  type: 'value',
  name: 'step',
  nameLocation: 'middle',
  nameGap: 22,
  minInterval: 1,
  min: 'dataMin'
} as const

/** One line of a LineSeriesChart. */
export interface ChartLine {
  name: string
  /** [step, value] pairs in step order. */
  data: [number, number][]
  color: string
  /** Drawn thin and pale, under the others (raw loss under its smoothed line). */
  faded?: boolean
  /** Left out of the legend (the raw line beside its smoothed one). */
  hideInLegend?: boolean
}
