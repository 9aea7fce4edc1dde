// An intrusive FIFO of entities (through Entity::next): what most policies keep per pCPU.
#pragma once
#include "sched/entity.hpp"

namespace sched {

class RunQueue {
public:
    bool empty() const { return head_ == nullptr; }
    uint32_t size() const { return size_; }
    Entity* front() const { return head_; }

    void push_back(Entity& e)
    {
        e.next = nullptr;
        if (tail_) tail_->next = &e;
        else head_ = &e;
        tail_ = &e;
        ++size_;
    }

    void push_front(Entity& e)
    {
        e.next = head_;
        head_ = &e;
        if (!tail_) tail_ = &e;
        ++size_;
    }

    Entity* pop_front()
    {
        Entity* e = head_;
        if (e) remove(*e);
        return e;
    }

    // True when `e` was queued here.
    bool remove(Entity& e)
    {
        Entity* previous = nullptr;
        for (Entity* p = head_; p; previous = p, p = p->next) {
            if (p != &e) continue;
            (previous ? previous->next : head_) = p->next;
            if (tail_ == p) tail_ = previous;
            p->next = nullptr;
            --size_;
            return true;
        }
        return false;
    }

    bool contains(const Entity& e) const
    {
        for (Entity* p = head_; p; p = p->next)
            if (p == &e) return true;
        return false;
    }

    // The first entity for which `accept(Entity&)` holds, removed from the queue.
    template <class Accept>
    Entity* take_first(Accept accept)
    {
        for (Entity* p = head_; p; p = p->next)
            if (accept(*p)) {
                remove(*p);
                return p;
            }
        return nullptr;
    }

    template <class Visit>
    void for_each(Visit visit) const
    {
        for (Entity* p = head_; p; p = p->next) visit(*p);
    }

private:
    Entity* head_ = nullptr;
    Entity* tail_ = nullptr;
    uint32_t size_ = 0;
};

}  // namespace sched
