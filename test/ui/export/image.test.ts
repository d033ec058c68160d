// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { serializeSvg } from '../../../src/ui/export/image.ts';

describe('chart SVG serialisation', () => {
  it('makes a standalone SVG with size, namespace and a background, leaving the page untouched', () => {
    document.body.innerHTML =
      '<div><svg class="recharts-surface" width="320" height="200" viewBox="0 0 320 200"><path d="M0 0L10 10" stroke="#f97316"></path><text x="1" y="2">loss &lt;1&gt;</text></svg></div>';
    const svg = document.querySelector('svg') as SVGSVGElement;
    const { text, width, height } = serializeSvg(svg, '#171a21');
    expect(width).toBe(320);
    expect(height).toBe(200);
    expect(text).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(text).toMatch(/<rect[^>]*fill="#171a21"/);
    expect(text).toContain('stroke="#f97316"');
    expect(text).toContain('loss &lt;1&gt;');
    // the live chart is not modified
    expect(svg.querySelector('rect')).toBeNull();
    expect(new DOMParser().parseFromString(text, 'image/svg+xml').querySelector('path')).not.toBeNull();
  });
});
