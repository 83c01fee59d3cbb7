// A QR code drawn as SVG from the module matrix `uqr` encodes: one path of unit squares, no
// markup from the encoder and no image data, so it fits the page's Content-Security-Policy
// and renders crisply at any size.
import { useMemo } from 'preact/hooks';
import { encode } from 'uqr';

/**
 * Pixels per module. A 2FA URI of 126–182 characters is a version 8–10 code, 57–65 modules
 * with the quiet zone, so about 285–325 px.
 */
const SCALE = 5;

export function QrCode({ text, label, testId }: { text: string; label: string; testId?: string }) {
  // Error correction M (15 % of the code may be damaged) and a quiet zone of four modules, as
  // the standard asks, so cameras find the code against any background. Encoded once per
  // text, not on every render of the form around it (each keystroke).
  const { size, path } = useMemo(() => {
    const { data, size } = encode(text, { ecc: 'M', border: 4 });
    return { size, path: data.flatMap((row, y) => row.flatMap((dark, x) => (dark ? [`M${x} ${y}h1v1h-1z`] : []))).join('') };
  }, [text]);
  return (
    <svg role="img" aria-label={label} data-testid={testId} viewBox={`0 0 ${size} ${size}`} width={size * SCALE} height={size * SCALE} shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
