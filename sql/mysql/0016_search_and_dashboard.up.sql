-- 0016 search and dashboard (issue 13): a per-tenant word index for
-- customer search (the full-text search index of requirement 19.7) and
-- ticket counts for the dashboard.
--
-- The FULLTEXT index of 0007 cannot lead with tenant_id: its document
-- starts with a tenant token instead, and the token's posting list is the
-- whole tenant, so every search read the tenant (8-9 ms of MariaDB CPU
-- for 10,000 customers, 40 ms on a busy machine).  customer_words is an
-- inverted index of its own: one row per word of each live customer's
-- name, keyed (tenant_id, word, customer_id), so that a word prefix is one
-- range read inside one tenant, as long as the number of customers the
-- prefix matches and no longer.
--
-- Words.  A name is split at every ASCII character that is not a letter
-- or a digit, U+0080..U+00BF (controls, no-break space, Latin-1
-- punctuation and signs), U+00D7, U+00F7, U+2000..U+206F (spaces,
-- dashes, quotation marks), U+3000..U+303F and U+FEFF; every other
-- character, any letter with or without accents included, belongs to a
-- word, except the combining marks U+0300..U+036F, which are dropped (a
-- name typed decomposed, "Se\u0301gun", has the word "segun"; the collation
-- equals it to "ségun").  lib/store/customer.c splits the search text by
-- the same rules and the PostgreSQL twin of this file uses the same set.  Words are stored
-- lower-cased; the column's collation (utf8mb4_unicode_ci) makes the
-- comparison case- and accent-insensitive, so "segun%" finds "Ségun".
--
-- Triggers keep the index in the writing transaction, as 0006 keeps
-- customer_counts: every writer of customers (the API, tools/seed_bulk,
-- the test fixtures' INSERTs, a future import) is covered without knowing
-- of it, and the words can never disagree with a committed name.  The
-- store cannot do that for writers that are not the store.  The cost is
-- one INSERT of a name's few words per created customer and a DELETE and
-- INSERT when a name changes or a customer is soft-deleted.  Soft-deleted
-- customers have no words, so the index holds live customers only and a
-- search counts its matches without reading customers.
--
-- The name's words come out of one INSERT ... SELECT: REGEXP_REPLACE
-- turns every run of separators into a space, which leaves only word
-- characters and spaces (no quote, backslash or control character), so
-- the text becomes a JSON array of strings and JSON_TABLE yields one row
-- per word.  DISTINCT under the table's collation drops a word that
-- repeats in another case or accent ("José Jose"), which the primary key
-- would refuse.
CREATE TABLE customer_words (
	tenant_id BIGINT UNSIGNED NOT NULL,
	word VARCHAR(200) NOT NULL,
	customer_id BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, word, customer_id),
	KEY ix_customer_words_customer (tenant_id, customer_id),
	CONSTRAINT fk_customer_words_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT fk_customer_words_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER tr_customers_words_insert AFTER INSERT ON customers
FOR EACH ROW
BEGIN
	IF NEW.deleted_at IS NULL THEN
		INSERT INTO customer_words (tenant_id, word, customer_id)
		SELECT DISTINCT NEW.tenant_id, LOWER(j.w), NEW.id
		FROM JSON_TABLE(CONCAT('["', REPLACE(TRIM(REGEXP_REPLACE(REGEXP_REPLACE(NEW.name,
			'[\\x{300}-\\x{36F}]', ''),
			'[\\x{01}-\\x{2F}\\x{3A}-\\x{40}\\x{5B}-\\x{60}\\x{7B}-\\x{BF}\\x{D7}\\x{F7}\\x{2000}-\\x{206F}\\x{3000}-\\x{303F}\\x{FEFF}]+',
			' ')), ' ', '","'), '"]'), '$[*]'
			COLUMNS (w VARCHAR(200) CHARACTER SET utf8mb4
				COLLATE utf8mb4_unicode_ci PATH '$')) j
		WHERE j.w <> '';
	END IF;
END;

-- A name compared as bytes: under the collation "Budi" equals "budi",
-- whose words are the same, but "a-b" and "a b" differ and so may words.
CREATE TRIGGER tr_customers_words_update AFTER UPDATE ON customers
FOR EACH ROW
BEGIN
	IF NOT (BINARY OLD.name <=> BINARY NEW.name)
	   OR OLD.tenant_id <> NEW.tenant_id
	   OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) THEN
		DELETE FROM customer_words
		WHERE tenant_id = OLD.tenant_id AND customer_id = OLD.id;
		IF NEW.deleted_at IS NULL THEN
			INSERT INTO customer_words (tenant_id, word, customer_id)
			SELECT DISTINCT NEW.tenant_id, LOWER(j.w), NEW.id
			FROM JSON_TABLE(CONCAT('["', REPLACE(TRIM(REGEXP_REPLACE(REGEXP_REPLACE(NEW.name,
			'[\\x{300}-\\x{36F}]', ''),
				'[\\x{01}-\\x{2F}\\x{3A}-\\x{40}\\x{5B}-\\x{60}\\x{7B}-\\x{BF}\\x{D7}\\x{F7}\\x{2000}-\\x{206F}\\x{3000}-\\x{303F}\\x{FEFF}]+',
				' ')), ' ', '","'), '"]'), '$[*]'
				COLUMNS (w VARCHAR(200) CHARACTER SET utf8mb4
					COLLATE utf8mb4_unicode_ci PATH '$')) j
			WHERE j.w <> '';
		END IF;
	END IF;
END;

-- The customers there are.  The triggers exist already, so a customer
-- written meanwhile is not missed; XXX a name changed between this
-- statement's snapshot and its end can leave the old words beside the new
-- ones (a search too many, never one too few): run the migration with the
-- API stopped, as for 0006.
INSERT IGNORE INTO customer_words (tenant_id, word, customer_id)
SELECT DISTINCT c.tenant_id, LOWER(j.w), c.id
FROM customers c, JSON_TABLE(CONCAT('["', REPLACE(TRIM(REGEXP_REPLACE(REGEXP_REPLACE(c.name,
	'[\\x{300}-\\x{36F}]', ''),
	'[\\x{01}-\\x{2F}\\x{3A}-\\x{40}\\x{5B}-\\x{60}\\x{7B}-\\x{BF}\\x{D7}\\x{F7}\\x{2000}-\\x{206F}\\x{3000}-\\x{303F}\\x{FEFF}]+',
	' ')), ' ', '","'), '"]'), '$[*]'
	COLUMNS (w VARCHAR(200) CHARACTER SET utf8mb4
		COLLATE utf8mb4_unicode_ci PATH '$')) j
WHERE c.deleted_at IS NULL AND j.w <> '';

-- A phone prefix of live customers, read from the index alone (the
-- search counts its matches; 0006's (tenant_id, deleted_at, x) pattern).
-- Nothing else reads phones by index.
ALTER TABLE customers
	ADD KEY ix_customers_tenant_live_phone (tenant_id, deleted_at, phone),
	DROP INDEX ix_customers_tenant_phone;

-- Nothing uses the full-text index any more.
ALTER TABLE customers
	DROP INDEX ft_customers_search,
	DROP COLUMN search_doc;

-- Dashboard tickets: the number of tickets of each tenant by status,
-- kept by triggers like customer_counts (0006), so that an uncached
-- dashboard is one statement of primary-key reads (lib/store/dashboard.c)
-- instead of a walk over the tenant's tickets and two more statements.
-- Tickets are never soft-deleted; a customer's hard delete cascades to
-- its tickets without firing these triggers (InnoDB runs no trigger for a
-- cascade), as for payment_months: nothing but a tenant's deletion, which
-- removes this row too, hard-deletes customers.
CREATE TABLE ticket_counts (
	tenant_id BIGINT UNSIGNED NOT NULL,
	n_open BIGINT NOT NULL DEFAULT 0,
	n_in_progress BIGINT NOT NULL DEFAULT 0,
	n_resolved BIGINT NOT NULL DEFAULT 0,
	n_closed BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_ticket_counts_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER tr_tickets_count_insert AFTER INSERT ON tickets
FOR EACH ROW
BEGIN
	INSERT INTO ticket_counts (tenant_id, n_open, n_in_progress,
		n_resolved, n_closed)
	VALUES (NEW.tenant_id, NEW.status = 'open',
		NEW.status = 'in_progress', NEW.status = 'resolved',
		NEW.status = 'closed')
	ON DUPLICATE KEY UPDATE n_open = n_open + VALUES(n_open),
		n_in_progress = n_in_progress + VALUES(n_in_progress),
		n_resolved = n_resolved + VALUES(n_resolved),
		n_closed = n_closed + VALUES(n_closed);
END;

CREATE TRIGGER tr_tickets_count_update AFTER UPDATE ON tickets
FOR EACH ROW
BEGIN
	IF OLD.status <> NEW.status OR OLD.tenant_id <> NEW.tenant_id THEN
		UPDATE ticket_counts
		SET n_open = n_open - (OLD.status = 'open'),
			n_in_progress = n_in_progress - (OLD.status = 'in_progress'),
			n_resolved = n_resolved - (OLD.status = 'resolved'),
			n_closed = n_closed - (OLD.status = 'closed')
		WHERE tenant_id = OLD.tenant_id;
		INSERT INTO ticket_counts (tenant_id, n_open, n_in_progress,
			n_resolved, n_closed)
		VALUES (NEW.tenant_id, NEW.status = 'open',
			NEW.status = 'in_progress', NEW.status = 'resolved',
			NEW.status = 'closed')
		ON DUPLICATE KEY UPDATE n_open = n_open + VALUES(n_open),
			n_in_progress = n_in_progress + VALUES(n_in_progress),
			n_resolved = n_resolved + VALUES(n_resolved),
			n_closed = n_closed + VALUES(n_closed);
	END IF;
END;

CREATE TRIGGER tr_tickets_count_delete AFTER DELETE ON tickets
FOR EACH ROW
BEGIN
	UPDATE ticket_counts
	SET n_open = n_open - (OLD.status = 'open'),
		n_in_progress = n_in_progress - (OLD.status = 'in_progress'),
		n_resolved = n_resolved - (OLD.status = 'resolved'),
		n_closed = n_closed - (OLD.status = 'closed')
	WHERE tenant_id = OLD.tenant_id;
END;

-- XXX as for customer_counts: run the migration with the API stopped.
INSERT INTO ticket_counts (tenant_id, n_open, n_in_progress, n_resolved,
	n_closed)
SELECT tenant_id, SUM(status = 'open'), SUM(status = 'in_progress'),
	SUM(status = 'resolved'), SUM(status = 'closed')
FROM tickets GROUP BY tenant_id;
