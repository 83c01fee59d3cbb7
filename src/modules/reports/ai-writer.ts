// The optional AI writer: one chat-completions call (OpenAI-compatible, e.g. a local model
// server) through the platform HTTP client (timeout, retries, breaker: FAIL-017). It is
// given only the one portfolio's report data model; its answer is untrusted text, stripped
// of markup and length-capped. Any failure (timeout, error, malformed answer) yields a note
// instead of text: the report completes without the AI section and says so.
import { createHttpClient, type HttpClient } from '../../platform/http-client.ts';
import type { Logger } from '../../platform/logger.ts';
import type { ReportModel } from './data-model.ts';
import { untrustedText } from './render.ts';

export interface AiSettings {
  baseUrl: string | undefined;
  model: string;
  apiKey: string | undefined;
  timeoutMs: number;
  maxChars: number;
}

export type AiWriter = (model: ReportModel) => Promise<{ text: string } | { note: string }>;

/** Retries after a failed call (a timeout included), and calls in flight at once per process. */
export const AI_RETRIES = 1;
export const AI_MAX_CONCURRENT = 4;

const SYSTEM = 'You write a short, factual analysis of one investment portfolio from the JSON data given. Use only numbers that appear in the data. Plain text, no markup.';

export function createAiWriter(settings: AiSettings, logger: Logger): AiWriter | undefined {
  if (settings.baseUrl === undefined) return undefined;
  const client: HttpClient = createHttpClient({
    name: 'ai',
    baseUrl: settings.baseUrl,
    logger,
    timeoutMs: settings.timeoutMs,
    retries: AI_RETRIES,
    breakerThreshold: 5,
    breakerHalfOpenMs: 30_000,
    maxConcurrent: AI_MAX_CONCURRENT,
    maxQueued: 50,
    ...(settings.apiKey === undefined ? {} : { headers: { authorization: `Bearer ${settings.apiKey}` } }),
  });
  return async (model) => {
    const data = { ...model, narrative: undefined, ai: undefined };
    const body = JSON.stringify({
      model: settings.model,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: JSON.stringify(data) },
      ],
    });
    try {
      const res = await client.post('/chat/completions', body, { 'content-type': 'application/json' });
      const parsed = JSON.parse(res.text) as { choices?: Array<{ message?: { content?: unknown } }> };
      const content = parsed.choices?.[0]?.message?.content;
      if (typeof content !== 'string' || content.trim() === '') return { note: 'The AI analysis is not included: the AI service gave no usable answer.' };
      return { text: untrustedText(content, settings.maxChars) };
    } catch (err) {
      logger.warn({ err, event: 'ai_writer_failed' }, 'AI writer unavailable; report without the AI section');
      return { note: 'The AI analysis is not included: the AI service did not answer in time or failed.' };
    }
  };
}
