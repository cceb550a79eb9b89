import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TurnBudget } from '../../../src/transport/turn-budget.ts'

function busy(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // spin: the cost of a DH secret, stretched
  }
}

test('jobs run at once within the budget, later turns past it, always in order', async () => {
  // Time is the test's: a loaded machine descheduling it between two calls cannot end a turn early.
  let nowMs = 1000
  const budget = new TurnBudget(5, () => nowMs)
  const ran: number[] = []
  budget.run(() => ran.push(0))
  assert.deepEqual(ran, [0], 'within the budget: at once')
  budget.run(() => {
    nowMs += 6
    ran.push(1)
  })
  for (let i = 2; i < 6; i++) budget.run(() => ran.push(i))
  assert.deepEqual(ran, [0, 1], 'past the budget: the rest wait')
  assert.equal(budget.queued, 4)
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5])
  assert.equal(budget.queued, 0)
})

test('a long burst is spread over turns: a timer gets to run between them', async () => {
  const budget = new TurnBudget(4)
  const order: string[] = []
  for (let i = 0; i < 20; i++) {
    budget.run(() => {
      busy(1)
      order.push('job')
    })
  }
  setTimeout(() => order.push('timer'), 0)
  await new Promise<void>((resolve) => {
    const check = () => (budget.queued === 0 ? resolve() : setImmediate(check))
    setImmediate(check)
  })
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(order.filter((o) => o === 'job').length, 20)
  const timerAt = order.indexOf('timer')
  assert.ok(timerAt > 0 && timerAt < 20, `the timer ran between jobs (at ${timerAt})`)
})
