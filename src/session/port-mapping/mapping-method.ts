// The one shape both ways of asking a router for a port (UPnP IGD, NAT-PMP)
// have, so the port mapper can run them side by side.

/** What a router granted: its external address and the external ports for our TCP and UDP listen port. */
export interface Mapped {
  externalAddress: string
  tcpPort: number
  udpPort: number
  /** Seconds the mapping lasts; 0 = until deleted. */
  lifetimeSec: number
}

export interface MappingMethod {
  readonly name: 'UPnP' | 'NAT-PMP'
  /** Maps TCP and UDP `internalPort` (again, to renew); rejects with one line a person can act on. */
  map(internalPort: number, lifetimeSec: number): Promise<Mapped>
  /** Deletes what map() made, briefly (it runs while stopping); never rejects. */
  unmap(): Promise<void>
  /** Ends requests in flight at once. */
  cancel(): void
}
