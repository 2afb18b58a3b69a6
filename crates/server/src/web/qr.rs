//! The QR code on a lot's label, drawn as SVG on the server: the GS1 Digital
//! Link URI of the lot (DESIGN.md §4), which opens the lot's public page.

use qrcodegen::{QrCode, QrCodeEcc};

/// The quiet zone around the symbol, in modules (ISO/IEC 18004 asks for four).
const QUIET: i32 = 4;

/// `text` as an SVG QR code with error correction level M, or `None` when it
/// is too long for any QR version.
pub(crate) fn svg(text: &str, title: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + QUIET, y + QUIET));
            }
        }
    }
    let full = size + 2 * QUIET;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" class=\"qr\" \
         role=\"img\" aria-label=\"{}\" shape-rendering=\"crispEdges\"><rect width=\"{full}\" \
         height=\"{full}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>",
        super::trace_graph::escape(title)
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_digital_link_fits_a_symbol() {
        let svg = super::svg(
            "https://retrace.example/uscc/91150206000000019W/10/C2503-01",
            "QR",
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("h1v1h-1z"));
    }
}
