// Sentiment of a headline and summary with the wink-sentiment lexicon scorer (AFINN-based,
// negation-aware; MIT): each scored token carries an integer in [-5, 5]. The score in
// [-1, 1] is the sum over 5 × the number of scored tokens, computed as an exact decimal
// and rounded half-up to 4 places (FAIL-002: never a float, in storage or the API).
import winkSentiment from 'wink-sentiment';
import { Decimal, toPlain } from '../../money/index.ts';

const MAX_TOKEN_SCORE = 5;

export function sentimentScore(text: string): string {
  const result = winkSentiment(text);
  let sum = new Decimal(0);
  let scored = 0;
  for (const token of result.tokenizedPhrase) {
    if (typeof token.score !== 'number') continue;
    // String() of an integer (or of a short decimal) is its exact decimal text.
    sum = sum.plus(new Decimal(String(token.score)));
    scored += 1;
  }
  if (scored === 0) return '0';
  const value = Decimal.max(-1, Decimal.min(1, sum.div(MAX_TOKEN_SCORE * scored)));
  return toPlain(value.toDecimalPlaces(4, Decimal.ROUND_HALF_UP));
}
