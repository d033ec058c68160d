// Charts as PNG: canvases directly; recharts' SVG serialised (with the page's colours
// inlined), drawn onto a canvas over the panel background, then encoded.

const SVG_NS = 'http://www.w3.org/2000/svg';

export function canvasToPngBlob(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('The canvas could not be encoded as PNG'))),
      'image/png',
    );
  });
}

/** Copies the computed presentation styles that matter for charts onto each SVG node. */
function inlineStyles(source: Element, target: Element): void {
  const view = source.ownerDocument.defaultView;
  if (!view) return;
  const cs = view.getComputedStyle(source);
  const props = [
    'fill',
    'stroke',
    'stroke-width',
    'stroke-dasharray',
    'opacity',
    'font-family',
    'font-size',
    'font-weight',
  ];
  const style = props
    .map((p) => [p, cs.getPropertyValue(p)] as const)
    .filter(([, v]) => v !== '' && v !== 'normal')
    .map(([p, v]) => `${p}:${v}`)
    .join(';');
  if (style) target.setAttribute('style', `${style};${target.getAttribute('style') ?? ''}`);
  const s = source.children;
  const t = target.children;
  for (let i = 0; i < s.length && i < t.length; i++) inlineStyles(s[i], t[i]);
}

/** Standalone SVG text of a chart, with width, height, namespace and inlined colours. */
export function serializeSvg(
  svg: SVGSVGElement,
  background?: string,
): { text: string; width: number; height: number } {
  const rect = svg.getBoundingClientRect();
  const width = Math.round(rect.width || Number(svg.getAttribute('width')) || 600);
  const height = Math.round(rect.height || Number(svg.getAttribute('height')) || 300);
  const clone = svg.cloneNode(true) as SVGSVGElement;
  inlineStyles(svg, clone);
  clone.setAttribute('xmlns', SVG_NS);
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  if (background) {
    const bg = svg.ownerDocument.createElementNS(SVG_NS, 'rect');
    bg.setAttribute('width', '100%');
    bg.setAttribute('height', '100%');
    bg.setAttribute('fill', background);
    clone.insertBefore(bg, clone.firstChild);
  }
  return { text: new XMLSerializer().serializeToString(clone), width, height };
}

export async function svgToPngBlob(svg: SVGSVGElement, background = '#171a21', scale = 2): Promise<Blob> {
  const { text, width, height } = serializeSvg(svg, background);
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml;charset=utf-8' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('The chart could not be drawn as an image'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = width * scale;
    canvas.height = height * scale;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('This browser gives no 2D canvas to draw the chart on');
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await canvasToPngBlob(canvas);
  } finally {
    URL.revokeObjectURL(url);
  }
}
