//! PDF: the text layer, laid out again into lines and paragraphs from glyph positions.
//!
//! # Why `pdf-extract`
//!
//! Both candidates were run on Chromium-printed decisions (`tests/samples/`): with a CID TrueType
//! font (Type0, Identity-H, ToUnicode map, as WPS and Word embed 宋体) both `pdf-extract` 0.12 and
//! `lopdf` 0.47's own `Document::extract_text` give the Chinese text right; with Type 3 fonts
//! (Chromium's output for CFF-outline fonts such as Noto CJK) `lopdf` ignores the ToUnicode map
//! and returns mojibake, while `pdf-extract` decodes it. `pdf-extract` also reports every glyph
//! with its position (`OutputDev`), which is what paragraphs, centred titles and right-aligned
//! dates are rebuilt from; `lopdf` gives text only. It parses with `lopdf` underneath (re-exported).
//!
//! `pdf-extract` can panic on malformed files (it unwraps in places); extraction runs under
//! `catch_unwind` and a panic is an error like any other unreadable PDF. ToUnicode maps of some
//! writers name CJK radicals (U+2F8F ⾏) for ideographs (行): they are mapped back in the sink.
//!
//! # Layout
//!
//! Glyphs are grouped into lines by baseline; a line is centred when its margins are equal, right-
//! aligned when it ends at the right margin and starts far from the left. A left line starts a new
//! paragraph when it is indented, after a blank line, or when the line before it ended early: when
//! the first word of this line would have fitted on the line before, the writer broke the line on
//! purpose. Page-number lines at the top or bottom of a page are dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::{is_cjk, Align, DocumentLimits, ExtractError, Sink};

fn pdf_error(reason: &str) -> ExtractError {
    ExtractError::Pdf {
        reason: reason.to_string(),
    }
}

/// Extracts the paragraphs; returns the page count. No text at all is [`ExtractError::NoTextLayer`].
pub(super) fn extract(
    bytes: &[u8],
    limits: &DocumentLimits,
    sink: &mut Sink,
) -> Result<u32, ExtractError> {
    let doc = catch_unwind(|| pdf_extract::Document::load_mem(bytes))
        .map_err(|_| pdf_error("the parser failed on it (a damaged file?)"))?
        .map_err(|_| pdf_error("its structure cannot be parsed (a damaged file?)"))?;
    if doc.is_encrypted() {
        return Err(ExtractError::Encrypted);
    }
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Err(pdf_error("it has no pages"));
    }
    if pages > limits.max_pages as usize {
        return Err(ExtractError::TooManyPages {
            pages: pages as u64,
            limit: limits.max_pages,
        });
    }
    let mut collector = Collector {
        pages: Vec::new(),
        max_glyphs: limits.max_chars.saturating_mul(2),
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::output_doc(&doc, &mut collector)
    }))
    .map_err(|_| pdf_error("the text layer cannot be read (the parser failed)"))?;
    match result {
        Ok(()) => {}
        Err(OutputError::FormatError(_)) => {
            return Err(ExtractError::TooManyChars {
                limit: limits.max_chars,
            })
        }
        Err(_) => return Err(pdf_error("the text layer cannot be read")),
    }
    if collector
        .pages
        .iter()
        .all(|p| p.glyphs.iter().all(|g| g.ch.trim().is_empty()))
    {
        return Err(ExtractError::NoTextLayer);
    }
    lay_out(&collector.pages, sink)?;
    Ok(pages as u32)
}

/// One glyph, in page coordinates with y growing downwards.
#[derive(Clone)]
struct Glyph {
    x: f64,
    y: f64,
    advance: f64,
    size: f64,
    ch: String,
}

struct Page {
    height: f64,
    glyphs: Vec<Glyph>,
}

struct Collector {
    pages: Vec<Page>,
    /// Stops a text layer bigger than the character limit allows (glyphs include spaces).
    max_glyphs: usize,
}

impl OutputDev for Collector {
    fn begin_page(
        &mut self,
        _page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.pages.push(Page {
            height: media_box.ury - media_box.lly,
            glyphs: Vec::new(),
        });
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        ch: &str,
    ) -> Result<(), OutputError> {
        let Some(page) = self.pages.last_mut() else {
            return Ok(());
        };
        if page.glyphs.len() >= self.max_glyphs {
            // The only error this collector raises; `extract` reads it as the character limit.
            return Err(OutputError::FormatError(std::fmt::Error));
        }
        // The text rendering matrix maps text space to the page; flip y so lines read downwards.
        let sx = font_size * trm.m11 + font_size * trm.m21;
        let sy = font_size * trm.m12 + font_size * trm.m22;
        let size = (sx * sy).abs().sqrt();
        if !size.is_finite() || size <= 0.0 {
            return Ok(());
        }
        page.glyphs.push(Glyph {
            x: trm.m31,
            y: page.height - trm.m32,
            advance: width * size,
            size,
            ch: ch.to_string(),
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// A line of text on a page.
struct Line {
    glyphs: Vec<Glyph>,
    x0: f64,
    x1: f64,
    y: f64,
    size: f64,
}

impl Line {
    fn text(&self) -> String {
        let mut out = String::new();
        let mut prev: Option<&Glyph> = None;
        for g in &self.glyphs {
            if let Some(p) = prev {
                let gap = g.x - (p.x + p.advance);
                let cjk = p.ch.chars().any(is_cjk) || g.ch.chars().any(is_cjk);
                // Letter-spaced CJK (行 政 处 罚) runs on; a gap between Latin words is a space.
                if (cjk && gap > 1.5 * g.size) || (!cjk && gap > 0.2 * g.size) {
                    out.push(' ');
                }
            }
            out.push_str(&g.ch);
            prev = Some(g);
        }
        out
    }

    /// Width of the first unbreakable piece: a Latin word or number, else one CJK character,
    /// with the closing punctuation that may not start a line (。，、）…).
    fn first_token_width(&self) -> f64 {
        let Some(first) = self.glyphs.first() else {
            return 0.0;
        };
        let mut end = first.x + first.advance;
        let latin = !first.ch.chars().any(is_cjk);
        for g in &self.glyphs[1..] {
            let closing =
                g.ch.chars()
                    .all(|c| "，。、；：？！）》」』”’,.;:?!)".contains(c));
            let joins = if latin {
                !g.ch.chars().any(is_cjk) && !g.ch.trim().is_empty()
            } else {
                closing
            };
            if !joins || g.x - end > 0.2 * g.size {
                break;
            }
            end = g.x + g.advance;
        }
        end - first.x
    }
}

fn lines_of(page: &Page) -> Vec<Line> {
    let mut glyphs: Vec<&Glyph> = page.glyphs.iter().filter(|g| !g.ch.is_empty()).collect();
    glyphs.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<Vec<Glyph>> = Vec::new();
    let mut line_y = f64::NEG_INFINITY;
    for g in glyphs {
        match lines.last_mut() {
            Some(line) if (g.y - line_y).abs() <= 0.5 * g.size => line.push(g.clone()),
            _ => {
                line_y = g.y;
                lines.push(vec![g.clone()]);
            }
        }
    }
    lines
        .into_iter()
        .filter_map(|mut glyphs| {
            glyphs.sort_by(|a, b| a.x.total_cmp(&b.x));
            // Leading and trailing spaces do not count for the margins.
            while glyphs.last().is_some_and(|g| g.ch.trim().is_empty()) {
                glyphs.pop();
            }
            let start = glyphs.iter().position(|g| !g.ch.trim().is_empty())?;
            glyphs.drain(..start);
            let first = glyphs.first()?;
            let last = glyphs.last()?;
            let mut sizes: Vec<f64> = glyphs.iter().map(|g| g.size).collect();
            sizes.sort_by(f64::total_cmp);
            Some(Line {
                x0: first.x,
                x1: last.x + last.advance,
                y: first.y,
                size: sizes[sizes.len() / 2],
                glyphs,
            })
        })
        .collect()
}

/// `- 1 -`, `— 2 —`, `第 3 页`, `3/5`: a page number, not document text.
fn is_page_number(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let core = t
        .trim_matches(['-', '—', '–', '－', '·'])
        .trim_start_matches('第')
        .trim_end_matches('页');
    let core = core.split(['页', '/', '共']).next().unwrap_or(core);
    !core.is_empty() && core.len() <= 4 && core.chars().all(|c| c.is_ascii_digit())
}

fn lay_out(pages: &[Page], sink: &mut Sink) -> Result<(), ExtractError> {
    // The previous line of the open paragraph, with its page's right margin.
    let mut open: Option<(f64, f64, f64, f64)> = None; // (x1, y, size, right margin)
    for page in pages {
        let lines: Vec<Line> = lines_of(page)
            .into_iter()
            .filter(|l| {
                let edge = l.y < page.height * 0.12 || l.y > page.height * 0.88;
                !(edge && is_page_number(&l.text()))
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let left = lines.iter().map(|l| l.x0).fold(f64::INFINITY, f64::min);
        let right = lines.iter().map(|l| l.x1).fold(f64::NEG_INFINITY, f64::max);
        let mut first_on_page = true;
        for line in &lines {
            let size = line.size;
            let indent = line.x0 - left;
            let rgap = right - line.x1;
            let align = if indent > 2.0 * size && (indent - rgap).abs() < 1.5 * size {
                Align::Center
            } else if rgap < size && indent > 6.0 * size {
                Align::Right
            } else {
                Align::Left
            };
            let new_paragraph = match (align, open) {
                (Align::Center | Align::Right, _) | (_, None) => true,
                (_, Some((prev_x1, prev_y, prev_size, prev_right))) => {
                    let indented = indent >= 1.5 * size;
                    let blank_line = !first_on_page && line.y - prev_y > 2.4 * prev_size;
                    let ended_early = prev_right - prev_x1 > line.first_token_width() + 0.3 * size;
                    indented || blank_line || ended_early
                }
            };
            if new_paragraph {
                sink.end_paragraph();
                sink.align(align);
            }
            sink.push_str(&line.text())?;
            open = match align {
                Align::Left | Align::Unknown => Some((line.x1, line.y, size, right)),
                Align::Center | Align::Right => {
                    sink.end_paragraph();
                    None
                }
            };
            first_on_page = false;
        }
    }
    sink.end_paragraph();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(x: f64, y: f64, text: &str) -> Vec<Glyph> {
        text.chars()
            .enumerate()
            .map(|(i, c)| Glyph {
                x: x + 10.0 * i as f64,
                y,
                advance: 10.0,
                size: 10.0,
                ch: c.to_string(),
            })
            .collect()
    }

    fn lay(lines: &[Vec<Glyph>]) -> Vec<(String, Align)> {
        let page = Page {
            height: 1000.0,
            glyphs: lines.concat(),
        };
        let mut sink = Sink::new(10_000);
        lay_out(&[page], &mut sink).unwrap();
        sink.finish()
            .into_iter()
            .map(|p| (p.text, p.align))
            .collect()
    }

    #[test]
    fn centred_right_indented_and_wrapped_lines() {
        // The text block runs from x = 100 to x = 310 (21 characters of 10 points).
        let out = lay(&[
            glyphs(175.0, 200.0, "茌平县财政局"),
            glyphs(190.0, 220.0, "茌财罚〔2017〕12号"),
            glyphs(100.0, 240.0, "当事人：张三"),
            glyphs(100.0, 260.0, "住址：略"),
            glyphs(120.0, 280.0, "经查明，当事人于二〇一七年三月至六月"),
            glyphs(100.0, 300.0, "代理记账期间未按规定填制会计凭证共计二十三"),
            glyphs(100.0, 320.0, "张。"),
            glyphs(120.0, 340.0, "依据规定决定如下。"),
            glyphs(200.0, 400.0, "2017年10月12日"),
        ]);
        assert_eq!(
            out,
            [
                ("茌平县财政局".to_string(), Align::Center),
                ("茌财罚〔2017〕12号".to_string(), Align::Right),
                ("当事人：张三".to_string(), Align::Left),
                ("住址：略".to_string(), Align::Left),
                (
                    "经查明，当事人于二〇一七年三月至六月代理记账期间未按规定填制会计凭证共计二十三张。"
                        .to_string(),
                    Align::Left
                ),
                ("依据规定决定如下。".to_string(), Align::Left),
                ("2017年10月12日".to_string(), Align::Right),
            ]
        );
    }

    #[test]
    fn a_number_that_did_not_fit_continues_the_paragraph() {
        // 「…并于」 ends 2 characters early because 「20171012」 (8 wide) did not fit; the short
        // line after it ends early because the next line's first character would have fitted.
        let out = lay(&[
            glyphs(100.0, 100.0, "这是一行满行的文字内容用于确定版心宽度的"),
            glyphs(120.0, 120.0, "当事人违法一案本局已调查终结并于"),
            glyphs(100.0, 140.0, "20171012立案。"),
            glyphs(100.0, 160.0, "住址：略"),
        ]);
        assert_eq!(out[1].0, "当事人违法一案本局已调查终结并于20171012立案。");
        assert_eq!(out[2].0, "住址：略");
    }

    #[test]
    fn page_numbers() {
        for t in ["- 1 -", "— 12 —", "第 3 页", "第3页共5页", "3/5"] {
            assert!(is_page_number(t), "{t}");
        }
        for t in ["2017年", "一", "12号", "123456"] {
            assert!(!is_page_number(t), "{t}");
        }
    }
}
