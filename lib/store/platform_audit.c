#include "store/platform_audit.h"

#include "db.h"

/* clang-format off */
static const struct col audit_cols[] = {
	COL_INT(struct platform_audit, admin_id, COL_F_NULL),
	COL_STR(struct platform_audit, action, 0),
	COL_STR(struct platform_audit, entity_type, 0),
	COL_INT(struct platform_audit, entity_id, COL_F_NULL),
	COL_JSON(struct platform_audit, old_values, COL_F_NULL),
	COL_JSON(struct platform_audit, new_values, COL_F_NULL),
	COL_STR(struct platform_audit, ip_address, COL_F_NULL),
	COL_STR(struct platform_audit, user_agent, COL_F_NULL),
	COL_END
};
static const struct rowtype audit_in =
    ROWTYPE(struct platform_audit, "platform_audit", audit_cols);

enum { S_INSERT };

const struct stmt_def store_platform_audit_stmts[] = {
	[S_INSERT] = { "platform_audit_insert", SCOPE_GLOBAL,
	     "INSERT INTO platform_audit_logs (admin_id, action, entity_type,"
	     " entity_id, old_values, new_values, ip_address, user_agent)"
	     " VALUES (:admin_id, :action, :entity_type, :entity_id,"
	     " :old_values, :new_values, :ip_address, :user_agent)",
	     &audit_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

int
store_platform_audit_insert(struct db *db, struct arena *a,
                            const struct platform_audit *e)
{
	return db_exec(db, a, &store_platform_audit_stmts[S_INSERT], e, NULL);
}
