package metrics

import "github.com/prometheus/client_golang/prometheus"

// PushStats is one push destination's queue as Options.Push reports it.
type PushStats struct {
	Destination string
	// Depth is the number of events waiting; Dead the number in the dead
	// store.
	Depth, Dead int
	// Delivered, Retried and Killed count, since the node started, the
	// events acknowledged, the failed deliveries retried and the events
	// moved to the dead store.
	Delivered, Retried, Killed uint64
}

var (
	pushLabels    = []string{"destination"}
	pushDepthDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "push", "queue_depth"),
		"Push events waiting for delivery to a destination.", pushLabels, nil)
	pushDeadDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "push", "dead_events"),
		"Push events in a destination's dead store (riskmesh push dead).", pushLabels, nil)
	pushDeliveredDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "push", "delivered_total"),
		"Push events a destination acknowledged.", pushLabels, nil)
	pushRetriedDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "push", "retries_total"),
		"Failed push deliveries that were retried.", pushLabels, nil)
	pushKilledDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "push", "dead_total"),
		"Push events moved to a destination's dead store.", pushLabels, nil)
)

// pushCollector reports Options.Push at scrape time.
type pushCollector func() []PushStats

func (c pushCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pushDepthDesc, pushDeadDesc, pushDeliveredDesc, pushRetriedDesc, pushKilledDesc} {
		ch <- d
	}
}

func (c pushCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c() {
		ch <- prometheus.MustNewConstMetric(pushDepthDesc, prometheus.GaugeValue, float64(s.Depth), s.Destination)
		ch <- prometheus.MustNewConstMetric(pushDeadDesc, prometheus.GaugeValue, float64(s.Dead), s.Destination)
		ch <- prometheus.MustNewConstMetric(pushDeliveredDesc, prometheus.CounterValue, float64(s.Delivered), s.Destination)
		ch <- prometheus.MustNewConstMetric(pushRetriedDesc, prometheus.CounterValue, float64(s.Retried), s.Destination)
		ch <- prometheus.MustNewConstMetric(pushKilledDesc, prometheus.CounterValue, float64(s.Killed), s.Destination)
	}
}
