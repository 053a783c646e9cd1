/** Vega-Lite specs → SVG strings, in Node (no browser, no canvas). */
import * as vl from 'vega-lite';
import * as vega from 'vega';

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
