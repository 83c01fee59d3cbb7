// Report output: the template rendered to Markdown (every value HTML-escaped by Mustache),
// then Markdown → HTML (marked 18.2.1) and that HTML sanitised by sanitize-html 2.18.1 with
// a strict allow-list: text formatting, lists, tables and links only; no script, style,
// iframe, form or image; no attributes except href/title (and the rel we add) on links; only http, https and
// mailto URLs (so no `javascript:`); no event handlers (attributes are never allowed).
// The input-sized steps of a report (data model and narrative, template, Markdown → HTML)
// are the pure functions `reportModel` and `renderReport`; the job runs them on the render
// thread (render.worker.ts through render-pool.ts), never on the event loop.
import { marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { AppError } from '../../platform/errors.ts';
import { RENDERED_MAX_CHARS, renderTemplate } from '../templates/language.ts';
import { buildDataModel, type ReportModel, type ReportSources } from './data-model.ts';
import { writeNarrative } from './narrative.ts';

const POLICY: sanitizeHtml.IOptions = {
  allowedTags: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'ul', 'ol', 'li', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a'],
  allowedAttributes: { a: ['href', 'title', 'rel'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }) },
};

export function sanitise(html: string): string {
  return sanitizeHtml(html, POLICY);
}

/** Sanitised HTML of a Markdown text. */
export function markdownToHtml(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return sanitise(html);
}

/** Untrusted text (an AI answer) as plain text: tags stripped, length-capped. */
export function untrustedText(text: string, maxChars: number): string {
  const plain = sanitizeHtml(text, { allowedTags: [], allowedAttributes: {}, disallowedTagsMode: 'discard' });
  return plain.length > maxChars ? `${plain.slice(0, maxChars)}…` : plain;
}

/** The data model of a report with its narrative (the AI section is filled in later). */
export function reportModel(sources: ReportSources, generatedAt: Date): ReportModel {
  const model = buildDataModel(sources, generatedAt);
  const sentences = writeNarrative(model);
  model.narrative = { text: sentences.map((s) => s.text).join(' '), sentences };
  return model;
}

const TOO_LARGE = `The rendered report exceeds ${RENDERED_MAX_CHARS} characters.`;

/** A report's outcome: its Markdown and HTML, or the note a failed report carries. */
export type RenderOutcome = { status: 'done'; md: string; html: string } | { status: 'failed'; note: string };

/** Renders a template version over a model to Markdown, then sanitised HTML; a template error or an oversized output is a failed outcome. */
export function renderReport(body: string, model: ReportModel): RenderOutcome {
  let md: string;
  try {
    md = renderTemplate(body, model);
  } catch (err) {
    if (err instanceof AppError) return { status: 'failed', note: `The template cannot be rendered: ${err.detail ?? err.code}` };
    // Output past the engine's longest string: far over the cap, and the same every time.
    if (err instanceof RangeError && /invalid string length/i.test(err.message)) return { status: 'failed', note: TOO_LARGE };
    throw err;
  }
  if (md.length > RENDERED_MAX_CHARS) return { status: 'failed', note: TOO_LARGE };
  return { status: 'done', md, html: markdownToHtml(md) };
}
