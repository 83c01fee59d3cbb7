// The part of wink-sentiment 5.0.2 (CommonJS, no bundled types) that the news module uses.
declare module 'wink-sentiment' {
  interface Token {
    value: string;
    tag: string;
    score?: number;
  }
  interface Result {
    score: number;
    normalizedScore: number;
    tokenizedPhrase: Token[];
  }
  function sentiment(phrase: string): Result;
  export default sentiment;
}
