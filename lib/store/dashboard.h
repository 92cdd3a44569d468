/*
 * The dashboard's figures in one statement: customers by status
 * (customer_counts), tickets by status (ticket_counts) and the paid
 * amounts of this month and the last (payment_months), for GET
 * /dashboard/stats.  One round trip of primary-key reads instead of one
 * statement per store, because an uncached dashboard is little more than
 * those reads.
 */
#ifndef RTRW_STORE_DASHBOARD_H
#define RTRW_STORE_DASHBOARD_H

#include <stdint.h>

#include "store/customer.h"
#include "store/ticket.h"
#include "tdb.h"

/*
 * Reads the figures for the month that starts at month_first and the one
 * before it (prev_first), dates "YYYY-MM-DD" of the tenant's time zone:
 * the customer and ticket counts (zeros before the first customer or
 * ticket) and the amounts paid in each month, *current and *previous,
 * decimal text in the arena of the handle ("0.00" when nothing was
 * paid).  0 or -1.
 */
int store_dashboard_figures(struct tdb *t, const char *month_first,
                            const char *prev_first,
                            struct customer_counts *customers,
                            struct ticket_counts *tickets, const char **current,
                            const char **previous);

#endif
