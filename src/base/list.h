/* list.h -- intrusive doubly linked list (layer: base).
 *
 * The node lives inside the listed object, so linking costs no allocation
 * (as h2o's h2o_linklist_t). A list head is a node pointing at itself. */
#ifndef TARMAC_BASE_LIST_H
#define TARMAC_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
    struct list_node *prev;
    struct list_node *next;
};

static inline void list_init(struct list_node *head)
{
    head->prev = head;
    head->next = head;
}

static inline bool list_is_empty(const struct list_node *head)
{
    return head->next == head;
}

/* True when node is on some list (nodes are set to NULL when unlinked). */
static inline bool list_is_linked(const struct list_node *node)
{
    return node->next != NULL;
}

static inline void list_push_back(struct list_node *head, struct list_node *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

static inline void list_remove(struct list_node *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = NULL;
    node->next = NULL;
}

/* The object that holds node as its member named field. */
#define list_entry(node, type, field) ((type *)((char *)(node)-offsetof(type, field)))

#endif
