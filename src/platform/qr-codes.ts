import type { QrCodeRenderer } from '../core/ports.js';

const OPTIONS = { errorCorrectionLevel: 'M', margin: 2 } as const;

/** QR codes through the `qrcode` package, loaded on first use (most requests never draw one). */
export function createQrCodeRenderer(): QrCodeRenderer {
  const library = async () => (await import('qrcode')).default;
  return {
    png: async (text) => (await library()).toBuffer(text, { type: 'png', ...OPTIONS }),
    svg: async (text) => (await library()).toString(text, { type: 'svg', ...OPTIONS }),
  };
}
