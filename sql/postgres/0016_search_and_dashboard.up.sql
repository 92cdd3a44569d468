-- 0016 search and dashboard (issue 13): the per-tenant word index and
-- ticket counts; see the MariaDB file for the why.  The words are split at the same separators
-- and kept by a trigger in the writing transaction.  PostgreSQL has no
-- case- and accent-insensitive collation that LIKE can use, so the words
-- are stored folded (rtrw_search_fold: decomposed, combining marks
-- U+0300..U+036F removed, lower-cased) in the "C" collation, where a
-- btree answers word LIKE 'prefix%'; a search folds its words the same
-- way.
CREATE FUNCTION rtrw_search_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT lower(regexp_replace(normalize(t, NFD), '[\u0300-\u036F]', '',
		'g'))
$$;

-- The words of a name, each once, folded (a word of combining marks
-- alone folds to nothing and is no word).
CREATE FUNCTION rtrw_search_words(t text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT DISTINCT f FROM (SELECT rtrw_search_fold(w) AS f
	FROM regexp_split_to_table(t,
		'[\u0001-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u00BF\u00D7\u00F7\u2000-\u206F\u3000-\u303F\uFEFF]+') w) s
	WHERE f <> ''
$$;

CREATE TABLE customer_words (
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	word varchar(200) COLLATE "C" NOT NULL,
	customer_id bigint NOT NULL,
	PRIMARY KEY (tenant_id, word, customer_id),
	CONSTRAINT fk_customer_words_customer FOREIGN KEY (tenant_id, customer_id)
		REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_customer_words_customer
	ON customer_words (tenant_id, customer_id);

CREATE FUNCTION rtrw_customer_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF OLD.name = NEW.name AND OLD.tenant_id = NEW.tenant_id
		   AND (OLD.deleted_at IS NULL) = (NEW.deleted_at IS NULL) THEN
			RETURN NULL;
		END IF;
		DELETE FROM customer_words
		WHERE tenant_id = OLD.tenant_id AND customer_id = OLD.id;
	END IF;
	IF NEW.deleted_at IS NULL THEN
		INSERT INTO customer_words (tenant_id, word, customer_id)
		SELECT NEW.tenant_id, w, NEW.id FROM rtrw_search_words(NEW.name) w;
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER tr_customers_words
	AFTER INSERT OR UPDATE OF tenant_id, name, deleted_at
	ON customers FOR EACH ROW EXECUTE FUNCTION rtrw_customer_words();

-- XXX as in MariaDB: run the migration with the API stopped.
INSERT INTO customer_words (tenant_id, word, customer_id)
SELECT c.tenant_id, w, c.id
FROM customers c, rtrw_search_words(c.name) w
WHERE c.deleted_at IS NULL
ON CONFLICT DO NOTHING;

DROP INDEX ix_customers_tenant_phone;
CREATE INDEX ix_customers_tenant_live_phone
	ON customers (tenant_id, phone) WHERE deleted_at IS NULL;

DROP INDEX ft_customers_search;

-- ticket_counts: tickets per tenant and status, kept by a trigger in the
-- writing transaction (as customer_counts, 0006).
CREATE TABLE ticket_counts (
	tenant_id bigint NOT NULL,
	n_open bigint NOT NULL DEFAULT 0,
	n_in_progress bigint NOT NULL DEFAULT 0,
	n_resolved bigint NOT NULL DEFAULT 0,
	n_closed bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_ticket_counts_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE FUNCTION rtrw_ticket_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		UPDATE ticket_counts
		SET n_open = n_open - (OLD.status = 'open')::int,
			n_in_progress = n_in_progress - (OLD.status = 'in_progress')::int,
			n_resolved = n_resolved - (OLD.status = 'resolved')::int,
			n_closed = n_closed - (OLD.status = 'closed')::int
		WHERE tenant_id = OLD.tenant_id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO ticket_counts AS c (tenant_id, n_open, n_in_progress,
			n_resolved, n_closed)
		VALUES (NEW.tenant_id, (NEW.status = 'open')::int,
			(NEW.status = 'in_progress')::int,
			(NEW.status = 'resolved')::int,
			(NEW.status = 'closed')::int)
		ON CONFLICT (tenant_id) DO UPDATE
		SET n_open = c.n_open + EXCLUDED.n_open,
			n_in_progress = c.n_in_progress + EXCLUDED.n_in_progress,
			n_resolved = c.n_resolved + EXCLUDED.n_resolved,
			n_closed = c.n_closed + EXCLUDED.n_closed;
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER tr_tickets_counts
	AFTER INSERT OR DELETE OR UPDATE OF tenant_id, status
	ON tickets FOR EACH ROW EXECUTE FUNCTION rtrw_ticket_counts();

INSERT INTO ticket_counts (tenant_id, n_open, n_in_progress, n_resolved,
	n_closed)
SELECT tenant_id, count(*) FILTER (WHERE status = 'open'),
	count(*) FILTER (WHERE status = 'in_progress'),
	count(*) FILTER (WHERE status = 'resolved'),
	count(*) FILTER (WHERE status = 'closed')
FROM tickets GROUP BY tenant_id;
