// FAIL-008 source scan: every Redis command and every Cache call in src/ must take its
// key from the key builder (`cacheKey(...)` in src/platform/cache-keys.ts). The scan
// type-checks src/ with the TypeScript compiler, so it finds call sites by the receiver's
// TYPE (an ioredis client or pipeline, or the platform Cache), not by names or by the
// text `financehub:v1`, and follows the key argument to where it was built:
//   - `cacheKey(...)` itself;
//   - a variable whose initialiser is built, or a call of a local function whose returned
//     expression is built (`const key = (id) => cacheKey('revoked-session', id)`);
//   - a template literal made only of built parts and interpolations, with no literal text
//     (the client's own key prefix in front of a built key);
//   - a parameter of the Cache implementation itself (src/platform/cache.ts), whose
//     callers are checked in turn;
//   - for calls taking several keys (MGET, Cache.getMany): an array literal of built keys,
//     `list.map((x) => built)`, or a spread of either.
// Anything else (`quote:${symbol}`, a string literal, a parameter passed through) is an
// offender. Redis methods that take no key are listed; any other method is checked, so a
// command added later is checked by default.
import path from 'node:path';
import ts from 'typescript';

const NO_KEY_METHODS = new Set([
  'ping', 'quit', 'disconnect', 'connect', 'duplicate', 'pipeline', 'multi', 'exec', 'on', 'once', 'off',
  'removeListener', 'removeAllListeners', 'emit', 'listenerCount', 'info', 'flushall', 'flushdb', 'dbsize',
]);
const CACHE_METHODS = new Set(['get', 'getMany', 'set', 'delete']);
/** Files whose parameters are keys their own (checked) callers built. */
const KEY_WRAPPERS = [path.join('platform', 'cache.ts')];

export interface Offender {
  file: string;
  line: number;
  call: string;
}

export interface ScanOptions {
  /** Replaces a file's text in memory (a planted offender), keyed by absolute path. */
  overrides?: Map<string, string>;
}

let previous: ts.Program | undefined;

function sourceFiles(host: ts.CompilerHost, dir: string): string[] {
  return ts.sys.readDirectory(dir, ['.ts']).filter((file) => !file.endsWith('.test.ts') && host.fileExists(file));
}

export interface ScanResult {
  /** Key-taking call sites whose key does not come from the builder. */
  offenders: Offender[];
  /** Every key-taking call site looked at, so a scan that finds none is not mistaken for a pass. */
  checked: Offender[];
}

export function scanCacheKeys(srcDir: string, options: ScanOptions = {}): ScanResult {
  const configPath = ts.findConfigFile(srcDir, (f) => ts.sys.fileExists(f));
  if (configPath === undefined) throw new Error(`no tsconfig.json above ${srcDir}`);
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, (f) => ts.sys.readFile(f)).config, ts.sys, path.dirname(configPath));
  const host = ts.createCompilerHost(config.options, true);
  const overrides = options.overrides ?? new Map<string, string>();
  const readFile = host.readFile.bind(host);
  host.readFile = (file) => overrides.get(path.resolve(file)) ?? readFile(file);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) => {
    const text = overrides.get(path.resolve(file));
    return text === undefined ? getSourceFile(file, languageVersion, onError, shouldCreate) : ts.createSourceFile(file, text, languageVersion, true);
  };
  const roots = sourceFiles(host, srcDir);
  // A later scan reuses the earlier program's unchanged files (the library typings are
  // most of the parsing).
  const program = ts.createProgram(roots, { ...config.options, noEmit: true }, host, previous);
  previous = program;
  const checker = program.getTypeChecker();

  const receiverKind = (expr: ts.Expression): 'redis' | 'cache' | null => {
    const type = checker.getTypeAtLocation(expr);
    const names = [type, ...(type.isUnion() ? type.types : [])].map((t) => (t.aliasSymbol ?? t.getSymbol())?.getName() ?? '');
    const files = [type, ...(type.isUnion() ? type.types : [])].flatMap((t) => (t.aliasSymbol ?? t.getSymbol())?.getDeclarations()?.map((d) => d.getSourceFile().fileName) ?? []);
    if (files.some((f) => f.includes(`${path.sep}ioredis${path.sep}`))) return 'redis';
    if (names.includes('Cache') && files.some((f) => f.endsWith(path.join('platform', 'cache.ts')))) return 'cache';
    return null;
  };

  const isBuilderCall = (node: ts.Expression): boolean =>
    ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'cacheKey';

  const built = (node: ts.Expression, seen: Set<ts.Node>): boolean => {
    if (seen.has(node)) return false;
    seen.add(node);
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node)) return built(node.expression, seen);
    if (isBuilderCall(node)) return true;
    if (ts.isSpreadElement(node)) return built(node.expression, seen);
    if (ts.isArrayLiteralExpression(node)) return node.elements.length > 0 && node.elements.every((e) => built(e, seen));
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'map') {
      const fn = node.arguments[0];
      return fn !== undefined && (ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && returnsBuilt(fn, seen);
    }
    if (ts.isTemplateExpression(node)) {
      if (node.head.text !== '' || node.templateSpans.some((s) => s.literal.text !== '')) return false;
      return node.templateSpans.some((s) => built(s.expression, seen));
    }
    if (ts.isIdentifier(node)) return declaredBuilt(checker.getSymbolAtLocation(node), seen);
    if (ts.isCallExpression(node)) return declaredBuilt(checker.getSymbolAtLocation(node.expression), seen, true);
    return false;
  };

  const returnsBuilt = (fn: ts.SignatureDeclaration, seen: Set<ts.Node>): boolean => {
    if (ts.isArrowFunction(fn) && !ts.isBlock(fn.body)) return built(fn.body, seen);
    const body = (fn as { body?: ts.Node }).body;
    if (body === undefined) return false;
    const returns: ts.Expression[] = [];
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && n !== fn) return;
      if (ts.isReturnStatement(n) && n.expression !== undefined) returns.push(n.expression);
      ts.forEachChild(n, visit);
    };
    visit(body);
    return returns.length > 0 && returns.every((r) => built(r, seen));
  };

  const declaredBuilt = (symbol: ts.Symbol | undefined, seen: Set<ts.Node>, called = false): boolean => {
    for (const decl of symbol?.getDeclarations() ?? []) {
      if (ts.isParameter(decl)) {
        const file = decl.getSourceFile().fileName;
        if (!called && KEY_WRAPPERS.some((w) => file.endsWith(w))) return true;
        return false;
      }
      if (ts.isVariableDeclaration(decl) && decl.initializer !== undefined) {
        if (called) {
          const init = decl.initializer;
          if ((ts.isArrowFunction(init) || ts.isFunctionExpression(init)) && returnsBuilt(init, seen)) return true;
        } else if (built(decl.initializer, seen)) return true;
      }
      if (called && ts.isFunctionDeclaration(decl) && returnsBuilt(decl, seen)) return true;
    }
    return false;
  };

  const offenders: Offender[] = [];
  const checked: Offender[] = [];
  for (const file of program.getSourceFiles()) {
    if (!roots.includes(file.fileName) || file.fileName.endsWith(path.join('platform', 'cache-keys.ts'))) continue;
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const method = node.expression.name.text;
        const kind = receiverKind(node.expression.expression);
        const keyed = kind === 'redis' ? !NO_KEY_METHODS.has(method) : kind === 'cache' && CACHE_METHODS.has(method);
        if (keyed) {
          const { line } = file.getLineAndCharacterOfPosition(node.getStart());
          const site = { file: path.relative(srcDir, file.fileName), line: line + 1, call: node.getText().slice(0, 120) };
          checked.push(site);
          // EVAL/EVALSHA name their keys after the script and the key count; a count that is
          // not a literal cannot be followed and counts as unbuilt.
          const keys =
            method === 'eval' || method === 'evalsha'
              ? (() => {
                  const count = node.arguments[1];
                  return count !== undefined && ts.isNumericLiteral(count) ? node.arguments.slice(2, 2 + Number(count.text)) : [undefined];
                })()
              : [node.arguments[0]];
          if (keys.length === 0 || keys.some((key) => key === undefined || !built(key, new Set()))) offenders.push(site);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { offenders, checked };
}
