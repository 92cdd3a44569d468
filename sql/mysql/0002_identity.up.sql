-- 0002 identity: platform administrators, the audit chain heads, alerts,
-- and the database-side immutability of the audit log.

-- Platform administrators run the deployment, not an ISP.  They are made
-- with the rtrw-admin command-line tool and log in with tenant "platform".
CREATE TABLE platform_admins (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	email VARCHAR(254) NOT NULL,
	name VARCHAR(100) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	last_login_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (id),
	UNIQUE KEY uq_platform_admins_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per tenant holding the newest audit entry's hash.  Writers lock
-- it (SELECT ... FOR UPDATE) so that a tenant's chain never forks.
CREATE TABLE audit_chain (
	tenant_id BIGINT UNSIGNED NOT NULL,
	last_id BIGINT UNSIGNED NULL,
	last_hash CHAR(64) NULL,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_audit_chain_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Alerts that features raise (low stock, device offline, blocked logins).
-- At most one open or acknowledged alert per (type, subject): open_key is
-- NULL once resolved, and NULLs never collide in a unique index.
CREATE TABLE alerts (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id BIGINT UNSIGNED NOT NULL,
	type VARCHAR(32) NOT NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'open',
	subject_type VARCHAR(32) NOT NULL,
	subject_id VARCHAR(100) NOT NULL,
	message VARCHAR(500) NOT NULL,
	details JSON NULL,
	occurrences INT UNSIGNED NOT NULL DEFAULT 1,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	acknowledged_at DATETIME NULL,
	acknowledged_by BIGINT UNSIGNED NULL,
	resolved_at DATETIME NULL,
	open_key VARCHAR(200) AS (IF(status = 'resolved', NULL,
		CONCAT(type, ':', subject_type, ':', subject_id))) STORED,
	PRIMARY KEY (id),
	UNIQUE KEY uq_alerts_tenant_open (tenant_id, open_key),
	KEY ix_alerts_tenant_status (tenant_id, status, created_at),
	KEY ix_alerts_tenant_type (tenant_id, type, created_at),
	CONSTRAINT fk_alerts_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_alerts_status
		CHECK (status IN ('open', 'acknowledged', 'resolved'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The audit log cannot be changed.  Rows may only be deleted when they are
-- older than 365 days and the deleting account is the maintenance user
-- rtrw_maint (the archive job).  A tenant's deletion removes its rows
-- through the foreign key cascade, which does not fire triggers.
CREATE TRIGGER tr_audit_logs_no_update BEFORE UPDATE ON audit_logs
FOR EACH ROW
	SIGNAL SQLSTATE '45000'
		SET MESSAGE_TEXT = 'audit_logs rows cannot be changed';

CREATE TRIGGER tr_audit_logs_no_delete BEFORE DELETE ON audit_logs
FOR EACH ROW
BEGIN
	IF OLD.created_at > UTC_TIMESTAMP(6) - INTERVAL 365 DAY
	   OR SUBSTRING_INDEX(CURRENT_USER(), '@', 1) <> 'rtrw_maint' THEN
		SIGNAL SQLSTATE '45000'
			SET MESSAGE_TEXT = 'audit_logs rows younger than 365 days cannot be deleted, and only by rtrw_maint';
	END IF;
END;
