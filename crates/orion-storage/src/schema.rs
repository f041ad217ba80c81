//! Versioned schema migrations. Each entry moves the database from version
//! `index` to `index + 1`; `PRAGMA user_version` records where it stands.
//! Money is stored as integer micro-units, times as integer nanoseconds.

/// The migrations, in order. Never edit a released one: append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE markets (
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        title TEXT NOT NULL,
        close_ns INTEGER,
        data TEXT NOT NULL DEFAULT '{}',
        updated_at_ns INTEGER NOT NULL,
        PRIMARY KEY (venue, symbol)
    );

    CREATE TABLE pairs (
        pair_id TEXT PRIMARY KEY,
        kalshi_ticker TEXT NOT NULL,
        polymarket_condition_id TEXT NOT NULL,
        polymarket_yes_token TEXT NOT NULL,
        polymarket_no_token TEXT NOT NULL,
        inverted INTEGER NOT NULL CHECK (inverted IN (0, 1)),
        score_bps INTEGER NOT NULL,
        flags TEXT NOT NULL DEFAULT '[]',
        reasons TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed', 'rejected')),
        decided_by TEXT,
        decided_at_ns INTEGER,
        created_at_ns INTEGER NOT NULL,
        UNIQUE (kalshi_ticker, polymarket_condition_id)
    );

    CREATE TABLE opportunities (
        id INTEGER PRIMARY KEY,
        pair_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        quantity_micros INTEGER NOT NULL,
        total_cost_micros INTEGER NOT NULL,
        net_profit_micros INTEGER NOT NULL,
        detected_at_ns INTEGER NOT NULL,
        acted INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL
    );
    CREATE INDEX opportunities_by_time ON opportunities (detected_at_ns);

    CREATE TABLE intents (
        intent_id TEXT PRIMARY KEY,
        pair_id TEXT NOT NULL,
        expected_profit_micros INTEGER NOT NULL,
        simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1)),
        created_at_ns INTEGER NOT NULL,
        finished_at_ns INTEGER,
        outcome TEXT
    );
    CREATE INDEX intents_unfinished ON intents (finished_at_ns) WHERE finished_at_ns IS NULL;

    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        intent_id TEXT NOT NULL REFERENCES intents (intent_id),
        leg_index INTEGER NOT NULL,
        venue TEXT NOT NULL,
        market TEXT NOT NULL,
        instrument TEXT NOT NULL,
        outcome TEXT NOT NULL,
        side TEXT NOT NULL,
        limit_price_micros INTEGER NOT NULL,
        quantity_micros INTEGER NOT NULL,
        time_in_force TEXT NOT NULL,
        venue_order_id TEXT,
        request TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX orders_by_intent ON orders (intent_id);

    CREATE TABLE order_events (
        id INTEGER PRIMARY KEY,
        intent_id TEXT NOT NULL REFERENCES intents (intent_id),
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        at_ns INTEGER NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX order_events_by_intent ON order_events (intent_id, id);

    CREATE TABLE fills (
        venue TEXT NOT NULL,
        fill_id TEXT NOT NULL,
        venue_order_id TEXT NOT NULL,
        client_order_id TEXT,
        instrument TEXT NOT NULL,
        outcome TEXT NOT NULL,
        side TEXT NOT NULL,
        price_micros INTEGER NOT NULL,
        quantity_micros INTEGER NOT NULL,
        fee_micros INTEGER NOT NULL,
        is_taker INTEGER NOT NULL,
        simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1)),
        ts_ns INTEGER NOT NULL,
        PRIMARY KEY (venue, fill_id, simulated)
    );

    CREATE TABLE positions (
        venue TEXT NOT NULL,
        instrument TEXT NOT NULL,
        market TEXT NOT NULL,
        outcome TEXT NOT NULL,
        pair_id TEXT,
        quantity_micros INTEGER NOT NULL,
        cost_micros INTEGER NOT NULL,
        simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1)),
        updated_at_ns INTEGER NOT NULL,
        PRIMARY KEY (venue, instrument, simulated)
    );

    CREATE TABLE settlements (
        id INTEGER PRIMARY KEY,
        pair_id TEXT,
        venue TEXT NOT NULL,
        market TEXT NOT NULL,
        winning_outcome TEXT NOT NULL,
        quantity_micros INTEGER NOT NULL,
        payout_micros INTEGER NOT NULL,
        cost_micros INTEGER NOT NULL,
        realized_pnl_micros INTEGER NOT NULL,
        simulated INTEGER NOT NULL DEFAULT 0,
        settled_at_ns INTEGER NOT NULL
    );

    CREATE TABLE balance_snapshots (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        available_micros INTEGER NOT NULL,
        portfolio_value_micros INTEGER,
        at_ns INTEGER NOT NULL
    );

    CREATE TABLE breaker_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL,
        data TEXT NOT NULL,
        updated_at_ns INTEGER NOT NULL
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at_ns INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    "#,
    // 2: indexes for start-up reconciliation and fill lookups by order.
    r#"
    CREATE INDEX fills_by_venue_order ON fills (venue, venue_order_id);
    CREATE INDEX order_events_by_order ON order_events (client_order_id, id);
    CREATE INDEX pairs_by_status ON pairs (status);
    "#,
    // 3: pair halts survive restarts (execution's legged-pair halts, the
    // decision core's, and the operator's), until an operator resumes them.
    r#"
    CREATE TABLE pair_halts (
        pair_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        source TEXT NOT NULL,
        halted_at_ns INTEGER NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;
