/**
 * `deposit.qr_code`: a PNG QR code of the deposit address as a Base64 data URL.
 */
import QRCode from 'qrcode'

/** Renders `text` as a `data:image/png;base64,…` QR code. */
export function qrDataUrl (text: string): Promise<string> {
  return QRCode.toDataURL(text, { type: 'image/png', errorCorrectionLevel: 'M', margin: 2 })
}
