// Named presets for the CSV exports of common brokers and trackers: which header means
// which field, which columns carry nothing FinanceHub stores (ignored by name, so any
// other column is still an error), the action words, and the number and date shapes.
// Written from each broker's documented export; docs/portfolios.md lists the columns.
import type { DateFormat, DecimalSeparator, DelimiterName } from './import.formats.ts';
import type { RawTransaction } from './transactions.validation.ts';

/**
 * Where a column's cells go. Beyond the transaction fields: `ratio` (2:1), `time` (joined
 * to the date), `fx_rate_inverse` (a rate quoted as transaction currency per base
 * currency, as Trading 212 and Degiro write it; FinanceHub's fx_rate is its inverse).
 */
export type ImportTarget = keyof RawTransaction | 'ratio' | 'time' | 'fx_rate_inverse';
export const IMPORT_TARGETS: readonly ImportTarget[] = [
  'executed_at', 'time', 'symbol', 'type', 'quantity', 'price', 'amount', 'fee', 'currency', 'fx_rate', 'fx_rate_inverse', 'note', 'ratio',
  'ratio_numerator', 'ratio_denominator',
];

export const PRESET_NAMES = ['ghostfolio', 'wealthfolio', 'schwab', 'fidelity', 'vanguard', 'ibkr_flex', 'trading212', 'degiro'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface ImportPreset {
  name: PresetName;
  label: string;
  delimiter?: DelimiterName;
  decimal: DecimalSeparator;
  dateFormat?: DateFormat;
  /**
   * Date formats tried cell by cell, first that reads wins (Ghostfolio accepts several in
   * one file). Only formats told apart by their separators belong here, so no cell reads
   * in two of them.
   */
  dateFormats?: readonly DateFormat[];
  /**
   * The header is the first line holding this cell. Vanguard writes a holdings table
   * above the transactions; its header is not the file's.
   */
  headerCell?: string;
  /** Cell texts meaning "no value" (Trading 212's "Not available" exchange rate). */
  blanks?: readonly string[];
  /** Header as the broker writes it → field. */
  columns: Record<string, ImportTarget>;
  /** Headers that carry nothing FinanceHub stores. */
  ignore: string[];
  /** Action text → type, first match wins; `transfer` is a deposit or withdrawal by the amount's sign. */
  actions: Array<[RegExp, string]>;
  /** A negative quantity is a sale (IBKR, Degiro); the type, if absent, follows the sign. */
  quantitySignIsSide?: boolean;
  /** Symbols that stand for cash (Wealthfolio's `$CASH-USD`), dropped on cash rows. */
  cashSymbol?: RegExp;
  /** Fees are written in the base currency even on foreign trades (converted with fx_rate_inverse). */
  feeInBaseCurrency?: boolean;
  /**
   * The total (`amount`) is in the base currency: checked against a trade at the file's
   * rate, and a cash row's amount (a dividend's net) is booked in the base currency.
   */
  totalInBaseCurrency?: boolean;
  /** Lines whose first cell matches are not transactions (Schwab's "Transactions Total"). */
  skipLines?: RegExp;
}

const BASIC_ACTIONS: Array<[RegExp, string]> = [
  [/^(buy|bought|purchase)$/i, 'buy'],
  [/^(sell|sold|sale)$/i, 'sell'],
  [/^(dividends?|div)$/i, 'dividend'],
  [/^interest$/i, 'interest'],
  [/^(fees?|tax)$/i, 'fee'],
  [/^(deposit)$/i, 'deposit'],
  [/^(withdrawal)$/i, 'withdrawal'],
  [/^split$/i, 'split'],
];

export const PRESETS: Record<PresetName, ImportPreset> = {
  // Ghostfolio's activity import (CSV): Date, Code, DataSource, Currency, Price, Quantity,
  // Action, Fee, Note. Dates dd-MM-yyyy, dd/MM/yyyy, yyyyMMdd or ISO, mixed in one file.
  // Dividends are quantity × price; a fee activity carries its amount in Fee with price
  // and quantity 0. Source: ghostfolio/ghostfolio test/import/ok/sample.csv.
  ghostfolio: {
    name: 'ghostfolio',
    label: 'Ghostfolio activities CSV',
    decimal: 'point',
    dateFormats: ['yyyy-MM-dd', 'dd-MM-yyyy', 'dd/MM/yyyy', 'dd.MM.yyyy', 'yyyyMMdd'],
    columns: {
      Date: 'executed_at', Code: 'symbol', Symbol: 'symbol', Currency: 'currency', Price: 'price', UnitPrice: 'price',
      Quantity: 'quantity', Action: 'type', Type: 'type', Fee: 'fee', Note: 'note', Comment: 'note',
    },
    ignore: ['DataSource', 'Account', 'AccountId', 'Tags'],
    actions: BASIC_ACTIONS,
  },
  // Wealthfolio's activity import: date, type (activityType in older files), symbol,
  // instrumentType, quantity, unit_price (unitPrice), currency, fee, amount, comment,
  // fxRate, subtype; cash rows use the symbol $CASH-<currency> in older files. A
  // TRANSFER_IN/OUT of shares has no FinanceHub type and is a row error.
  // Source: afadil/wealthfolio apps/frontend/public/sample-import.csv.
  wealthfolio: {
    name: 'wealthfolio',
    label: 'Wealthfolio activities CSV',
    decimal: 'point',
    columns: {
      date: 'executed_at', symbol: 'symbol', quantity: 'quantity', type: 'type', activityType: 'type', unitPrice: 'price', currency: 'currency',
      fee: 'fee', amount: 'amount', comment: 'note', fxRate: 'fx_rate',
    },
    ignore: ['accountId', 'account', 'instrumentType', 'subtype'],
    actions: [...BASIC_ACTIONS, [/^tax$/i, 'fee']],
    cashSymbol: /^\$CASH-[A-Z]{3}$/,
  },
  // Schwab brokerage history: "Date","Action","Symbol","Description","Quantity","Price",
  // "Fees & Comm","Amount"; US dates (possibly "… as of …"), $-formatted amounts, buys
  // negative, fees positive; an optional title line above the header and a
  // "Transactions Total" line at the end. "Stock Split" rows carry the added shares, not
  // the ratio, so they are row errors (enter the split by hand). Sources:
  // afadil/wealthfolio docs/test-data/schwab_with_header_row.csv,
  // dickwolff/Export-To-Ghostfolio samples/schwab-export.csv.
  schwab: {
    name: 'schwab',
    label: 'Charles Schwab transaction history CSV',
    decimal: 'point',
    dateFormat: 'MM/dd/yyyy',
    columns: { Date: 'executed_at', Action: 'type', Symbol: 'symbol', Quantity: 'quantity', Price: 'price', 'Fees & Comm': 'fee', Amount: 'amount' },
    ignore: ['Description'],
    actions: [
      [/^buy$/i, 'buy'],
      [/^sell$/i, 'sell'],
      [/^reinvest shares$/i, 'buy'],
      [
        /^(qualified dividend|cash dividend|non-qualified div|special non qual div|special qual div|reinvest dividend|qual div reinvest|pr yr div reinvest|pr yr cash div|pr yr non-qual div|special dividend|long term cap gain|short term cap gain|long term cap gain reinvest|short term cap gain reinvest)$/i,
        'dividend',
      ],
      [/^(bank interest|credit interest|bond interest)$/i, 'interest'],
      [/^(service fee|advisor fee|adr mgmt fee|foreign tax paid|nra withholding|nra tax adj)$/i, 'fee'],
      [/^(moneylink deposit|wire received|wire funds received|funds received)$/i, 'deposit'],
      [/^(wire sent|wire funds)$/i, 'withdrawal'],
      [/^(moneylink transfer|journal|internal transfer)$/i, 'transfer'],
    ],
    skipLines: /^transactions total$/i,
  },
  // Fidelity "Accounts History": Run Date, [Account,] Action, Symbol, Security
  // Description, Security Type, Quantity, Price ($), Commission ($), Fees ($), Accrued
  // Interest ($), Amount ($), Settlement Date (newer files: Date, Description, Type, Cash
  // Balance ($)); blank lines above and disclaimer lines below the rows, cells with a
  // leading space, sells with a negative quantity. Source: open-portfolio/FINporterFido
  // Tests/FidoHistoryTests.swift (Accounts_History.csv).
  fidelity: {
    name: 'fidelity',
    label: 'Fidelity accounts history CSV',
    decimal: 'point',
    dateFormat: 'MM/dd/yyyy',
    columns: {
      'Run Date': 'executed_at', Date: 'executed_at', Action: 'type', Symbol: 'symbol', Quantity: 'quantity', 'Price ($)': 'price',
      'Commission ($)': 'fee', 'Fees ($)': 'fee', 'Amount ($)': 'amount',
    },
    ignore: ['Account', 'Security Description', 'Description', 'Security Type', 'Type', 'Accrued Interest ($)', 'Cash Balance ($)', 'Settlement Date'],
    actions: [
      [/^YOU BOUGHT\b/i, 'buy'],
      [/^YOU SOLD\b/i, 'sell'],
      [/^(DIVIDEND RECEIVED|QUALIFIED DIVIDEND)\b/i, 'dividend'],
      [/^INTEREST EARNED\b/i, 'interest'],
      [/^(FEE CHARGED|FOREIGN TAX PAID)\b/i, 'fee'],
      [/^(Electronic Funds Transfer Received|CASH CONTRIBUTION|TRANSFERRED FROM)\b/i, 'deposit'],
      [/^(Electronic Funds Transfer Paid|TRANSFERRED TO)\b/i, 'withdrawal'],
      [/^(REINVESTMENT)\b/i, 'buy'],
    ],
  },
  // Vanguard's transaction download (OfxDownload.csv): a holdings table (Account Number,
  // Investment Name, Symbol, Shares, Share Price, Total Value) first, then the
  // transactions: Account Number, Trade Date, Settlement Date, Transaction Type,
  // Transaction Description, Investment Name, Symbol, Shares, Share Price, Principal
  // Amount, Commissions and Fees (older: Commission Fees), Net Amount, Accrued Interest,
  // Account Type, and a trailing comma. ISO dates, sells with negative shares. Source:
  // public hledger and Python readers of OfxDownload.csv (see docs/portfolios.md).
  vanguard: {
    name: 'vanguard',
    label: 'Vanguard brokerage transactions CSV',
    decimal: 'point',
    headerCell: 'Trade Date',
    columns: {
      'Trade Date': 'executed_at', 'Transaction Type': 'type', Symbol: 'symbol', Shares: 'quantity', 'Share Price': 'price',
      'Commissions and Fees': 'fee', 'Commission Fees': 'fee', 'Net Amount': 'amount',
    },
    ignore: ['Account Number', 'Settlement Date', 'Transaction Description', 'Investment Name', 'Principal Amount', 'Accrued Interest', 'Account Type'],
    actions: [
      [/^buy$/i, 'buy'],
      [/^sell$/i, 'sell'],
      [/^(dividend|capital gain \(lt\)|capital gain \(st\))$/i, 'dividend'],
      [/^interest$/i, 'interest'],
      // Sweep in/out move cash into or out of the settlement fund inside the account,
      // not money in or out of it: not imported (a row error), never a deposit.
      [/^funds received$/i, 'deposit'],
      [/^withdrawal$/i, 'withdrawal'],
      [/^fee$/i, 'fee'],
      [/^(reinvestment)$/i, 'buy'],
    ],
  },
  // Interactive Brokers Flex Query, Trades section as CSV. The columns are the ones the
  // user picks for the query: CurrencyPrimary, Symbol, TradeDate (yyyyMMdd), Quantity
  // (negative sells), TradePrice, TradeMoney, IBCommission (negative), NetCash,
  // Buy/Sell, FXRateToBase and descriptive columns. The query must include Symbol.
  // Source: dickwolff/Export-To-Ghostfolio samples/ibkr-trades-export.csv.
  ibkr_flex: {
    name: 'ibkr_flex',
    label: 'Interactive Brokers Flex Query (Trades) CSV',
    decimal: 'point',
    columns: {
      TradeDate: 'executed_at', Symbol: 'symbol', CurrencyPrimary: 'currency', Currency: 'currency', Quantity: 'quantity', TradePrice: 'price',
      IBCommission: 'fee', NetCash: 'amount', 'Buy/Sell': 'type', FXRateToBase: 'fx_rate',
    },
    ignore: [
      'ClientAccountID', 'AccountAlias', 'AssetClass', 'Description', 'ISIN', 'Conid', 'TradeID', 'Proceeds', 'TradeMoney', 'IBCommissionCurrency', 'Exchange',
      'OrderType', 'TradeTime', 'DateTime',
    ],
    actions: [[/^buy$/i, 'buy'], [/^sell$/i, 'sell']],
    quantitySignIsSide: true,
  },
  // Trading 212 history export: Action, Time (yyyy-MM-dd HH:mm:ss[.fff]), ISIN, Ticker,
  // Name, No. of shares, Price / share, Currency (Price / share), Exchange rate (price
  // currency per account currency; "Not available" on dividends), Result, Currency
  // (Result), Total (account currency, net), Currency (Total), Withholding tax and its
  // currency, Notes, ID, fee columns in the account currency. Source:
  // dickwolff/Export-To-Ghostfolio samples/trading212-export.csv.
  trading212: {
    name: 'trading212',
    label: 'Trading 212 history CSV',
    decimal: 'point',
    dateFormat: 'yyyy-MM-dd',
    blanks: ['Not available'],
    columns: {
      Action: 'type', Time: 'executed_at', Ticker: 'symbol', 'No. of shares': 'quantity', 'Price / share': 'price',
      'Currency (Price / share)': 'currency', 'Exchange rate': 'fx_rate_inverse', Total: 'amount',
      'Currency conversion fee': 'fee', 'Stamp duty reserve tax': 'fee', 'Transaction fee': 'fee', 'Finra fee': 'fee', Notes: 'note',
    },
    ignore: ['ISIN', 'Name', 'Result', 'Currency (Result)', 'Currency (Total)', 'Withholding tax', 'Currency (Withholding tax)', 'Currency (Currency conversion fee)',
      'Currency (Stamp duty reserve tax)', 'Currency (Transaction fee)', 'Currency (Finra fee)', 'ID', 'Merchant name', 'Merchant category'],
    actions: [
      [/^(market|limit|stop|stop limit) buy$/i, 'buy'],
      [/^(market|limit|stop|stop limit) sell$/i, 'sell'],
      [/^dividend \(.*\)$/i, 'dividend'],
      [/^interest on cash$/i, 'interest'],
      [/^deposit$/i, 'deposit'],
      [/^withdrawal$/i, 'withdrawal'],
    ],
    feeInBaseCurrency: true,
    totalInBaseCurrency: true,
  },
  // Degiro "Transactions" export (English): Date (dd-MM-yyyy), Time, Product, ISIN,
  // Reference (exchange), Venue, Quantity (negative sells), Price, Local value, Value,
  // Exchange rate, Transaction and/or third (party fees), Total, each amount followed by
  // an unnamed currency column, Order ID; newer files name the currency in the header
  // instead (Value EUR, AutoFX Fee, Transaction and/or third party fees EUR, Total EUR).
  // Decimal points in the English export (localised exports have localised headers: map
  // them, and send decimal=comma). Source: jose-pleonasm/Halir
  // docs/degiro/transactions-versions.md.
  degiro: {
    name: 'degiro',
    label: 'Degiro transactions CSV',
    decimal: 'point',
    dateFormat: 'dd-MM-yyyy',
    columns: {
      Date: 'executed_at', Time: 'time', ISIN: 'symbol', Quantity: 'quantity', Price: 'price', 'Price (currency)': 'currency',
      'Exchange rate': 'fx_rate_inverse', 'Transaction and/or third': 'fee', 'Transaction and/or third party fees': 'fee',
      'Transaction and/or third party fees EUR': 'fee', 'Transaction and/or third party costs': 'fee', 'Transaction costs': 'fee', 'AutoFX Fee': 'fee',
      Total: 'amount', 'Total EUR': 'amount',
    },
    ignore: ['Product', 'Reference', 'Reference exchange', 'Exchange', 'Venue', 'Execution Venue', 'Local value', 'Local value (currency)', 'Value', 'Value (currency)', 'Value EUR',
      'Transaction and/or third (currency)', 'Transaction and/or third party fees (currency)', 'Transaction and/or third party costs (currency)', 'Transaction costs (currency)',
      'Total (currency)', 'Order ID'],
    actions: [],
    quantitySignIsSide: true,
    feeInBaseCurrency: true,
    totalInBaseCurrency: true,
  },
};

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}
