package io.wrnstream.jobs.publish;

import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.KafkaSourceEnumState;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link KafkaSource} whose bounded runs also end after a restore. The connector's enumerator, when recreated from
 * state (a job restored from a savepoint or retained checkpoint), finds no partition changes and never sends its
 * readers the no-more-splits signal, so they wait forever at their stopping offsets (FLINK-31006, FLINK-33466; open
 * in 5.0.0-2.2). This wrapper sends it for the connector once the restored enumerator has no unassigned split left;
 * everything else is the connector's own. Fresh enumerators and unbounded sources are not touched.
 *
 * @param <T> the record type
 */
public final class RestorableBoundedSource<T>
        implements Source<T, KafkaPartitionSplit, KafkaSourceEnumState>, ResultTypeQueryable<T> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RestorableBoundedSource.class);
    /** How often a restored bounded enumerator is checked for having handed out every split. */
    static final long CHECK_MILLIS = 500;

    private final KafkaSource<T> kafka;

    /** Wraps {@code kafka}. */
    public RestorableBoundedSource(KafkaSource<T> kafka) {
        this.kafka = kafka;
    }

    @Override
    public Boundedness getBoundedness() {
        return kafka.getBoundedness();
    }

    @Override
    public SourceReader<T, KafkaPartitionSplit> createReader(SourceReaderContext readerContext) throws Exception {
        return kafka.createReader(readerContext);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> createEnumerator(SplitEnumeratorContext<KafkaPartitionSplit> context) {
        return kafka.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> restoreEnumerator(SplitEnumeratorContext<KafkaPartitionSplit> context,
                                                                                        KafkaSourceEnumState state) throws Exception {
        SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> restored = kafka.restoreEnumerator(context, state);
        return kafka.getBoundedness() == Boundedness.BOUNDED ? new SignallingEnumerator(restored, context) : restored;
    }

    @Override
    public SimpleVersionedSerializer<KafkaPartitionSplit> getSplitSerializer() {
        return kafka.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KafkaSourceEnumState> getEnumeratorCheckpointSerializer() {
        return kafka.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return kafka.getProducedType();
    }

    /** The restored enumerator plus the missing signal. */
    private static final class SignallingEnumerator implements SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> {
        private final SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> delegate;
        private final SplitEnumeratorContext<KafkaPartitionSplit> context;
        private boolean allAssigned;

        SignallingEnumerator(SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> delegate, SplitEnumeratorContext<KafkaPartitionSplit> context) {
            this.delegate = delegate;
            this.context = context;
        }

        @Override
        public void start() {
            delegate.start();
            // Checks run in the coordinator thread, like every enumerator call, so no locking is needed.
            context.callAsync(() -> null, (ignored, error) -> check(), CHECK_MILLIS, CHECK_MILLIS);
        }

        private void check() {
            if (allAssigned) return;
            KafkaSourceEnumState state;
            try {
                state = delegate.snapshotState(-1);
            } catch (Exception e) {
                LOG.warn("Cannot inspect the restored Kafka enumerator: {}", e.toString());
                return;
            }
            if (!state.initialDiscoveryFinished() || !state.unassignedSplits().isEmpty()) return;
            allAssigned = true;
            LOG.info("Restored bounded Kafka source: every split is assigned; signalling no more splits to readers {}",
                    context.registeredReaders().keySet());
            for (int reader : context.registeredReaders().keySet()) context.signalNoMoreSplits(reader);
        }

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
            delegate.handleSplitRequest(subtaskId, requesterHostname);
        }

        @Override
        public void addSplitsBack(List<KafkaPartitionSplit> splits, int subtaskId) {
            delegate.addSplitsBack(splits, subtaskId);
            allAssigned = false; // a failed reader's splits go out again first
        }

        @Override
        public void addReader(int subtaskId) {
            delegate.addReader(subtaskId);
            if (allAssigned) context.signalNoMoreSplits(subtaskId);
        }

        @Override
        public KafkaSourceEnumState snapshotState(long checkpointId) throws Exception {
            return delegate.snapshotState(checkpointId);
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            delegate.notifyCheckpointComplete(checkpointId);
        }

        @Override
        public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
            delegate.handleSourceEvent(subtaskId, sourceEvent);
        }

        @Override
        public void close() throws java.io.IOException {
            delegate.close();
        }
    }
}
