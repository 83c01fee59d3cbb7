// A QR code drawn as SVG from the module matrix `uqr` encodes: one path of unit squares, no
// markup from the encoder and no image data, so it fits the page's Content-Security-Policy
// and renders crisply at any size.
import { encode } from 'uqr';

/** Pixels per module: a 2FA URI (version 5–7, 37–45 modules with the quiet zone) is about 200 px. */
const SCALE = 5;

export function QrCode({ text, label, testId }: { text: string; label: string; testId?: string }) {
  // Error correction M (15 % of the code may be damaged); a quiet zone of four modules, as
  // the standard asks, so cameras find the code against any background.
  const { data, size } = encode(text, { ecc: 'M', border: 4 });
  const path = data.flatMap((row, y) => row.flatMap((dark, x) => (dark ? [`M${x} ${y}h1v1h-1z`] : []))).join('');
  return (
    <svg role="img" aria-label={label} data-testid={testId} viewBox={`0 0 ${size} ${size}`} width={size * SCALE} height={size * SCALE} shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
