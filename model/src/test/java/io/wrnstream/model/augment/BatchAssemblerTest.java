package io.wrnstream.model.augment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wrnstream.model.data.Sample;
import io.wrnstream.model.engine.Batch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchAssemblerTest {

    private static final Augmenter AUG = new Augmenter(AugmentConfig.paper(), Normalization.CIFAR10);

    private static List<Sample> samples(int n) {
        Random r = new Random(n);
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] p = new byte[3 * 8 * 8];
            r.nextBytes(p);
            out.add(new Sample(i, i % 10, 3, 8, 8, p));
        }
        return out;
    }

    @Test
    void trainBatchHoldsEachSampleAugmentedInOrder() {
        List<Sample> s = samples(5);

        Batch b = BatchAssembler.trainBatch(s, AUG, 11, 2);

        assertThat(b.size()).isEqualTo(5);
        assertThat(List.of(b.channels(), b.height(), b.width())).containsExactly(3, 8, 8);
        assertThat(b.labels()).containsExactly(0, 1, 2, 3, 4);
        float[] one = new float[192];
        AUG.train(s.get(3), 11, 2, one, 0);
        assertThat(Arrays.copyOfRange(b.x(), 3 * 192, 4 * 192)).isEqualTo(one);
    }

    @Test
    void evalBatchHoldsEachSampleNormalised() {
        List<Sample> s = samples(3);

        Batch b = BatchAssembler.evalBatch(s, AUG);

        float[] one = new float[192];
        AUG.eval(s.get(2), one, 0);
        assertThat(Arrays.copyOfRange(b.x(), 2 * 192, 3 * 192)).isEqualTo(one);
        assertThat(b.x()[0]).isEqualTo(Normalization.CIFAR10.apply(0, s.get(0).pixel(0, 0, 0)));
    }

    @Test
    void shuffleIsADeterministicPermutationThatChangesPerEpoch() {
        List<Sample> s = samples(100);

        List<Sample> e0 = BatchAssembler.shuffled(s, 5, 0);

        assertThat(BatchAssembler.shuffled(s, 5, 0)).isEqualTo(e0);
        assertThat(e0).containsExactlyInAnyOrderElementsOf(s).isNotEqualTo(s);
        assertThat(BatchAssembler.shuffled(s, 5, 1)).isNotEqualTo(e0);
        assertThat(BatchAssembler.shuffled(s, 6, 0)).isNotEqualTo(e0);
        assertThat(s.get(0).id()).isZero(); // the input is untouched
    }

    @Test
    void epochBatchesCoverEverySampleOnceWithAPartialLastBatch() {
        List<Sample> s = samples(10);

        Iterator<Batch> it = BatchAssembler.trainBatches(s, 4, AUG, 3, 7);
        List<Batch> batches = new ArrayList<>();
        it.forEachRemaining(batches::add);

        assertThat(batches).extracting(Batch::size).containsExactly(4, 4, 2);
        assertThat(BatchAssembler.batchCount(10, 4)).isEqualTo(3);
        List<Sample> order = BatchAssembler.shuffled(s, 3, 7);
        assertThat(batches.get(1).x()).isEqualTo(BatchAssembler.trainBatch(order.subList(4, 8), AUG, 3, 7).x());
        Set<Integer> labels = new HashSet<>();
        for (Batch b : batches) for (int l : b.labels()) labels.add(l);
        assertThat(labels).hasSize(10);
        assertThat(it.hasNext()).isFalse();
    }

    @Test
    void evalBatchesKeepTheOrder() {
        List<Sample> s = samples(5);
        Iterator<Batch> it = BatchAssembler.evalBatches(s, 2, AUG);

        assertThat(it.next().labels()).containsExactly(0, 1);
        assertThat(it.next().labels()).containsExactly(2, 3);
        assertThat(it.next().labels()).containsExactly(4);
        assertThat(it.hasNext()).isFalse();
    }

    @Test
    void rejectsBadBatchSizeAndMixedShapes() {
        assertThatThrownBy(() -> BatchAssembler.trainBatches(samples(3), 0, AUG, 1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value 0 for batch size: must be >= 1 (the paper uses 128)");
        List<Sample> mixed = new ArrayList<>(samples(1));
        mixed.add(new Sample(1, 0, 3, 8, 9, new byte[216]));
        assertThatThrownBy(() -> BatchAssembler.evalBatch(mixed, AUG))
                .hasMessage("Cannot batch sample 1 (3x8x9) with sample 0 (3x8x8): all must have the same shape");
        assertThatThrownBy(() -> BatchAssembler.trainBatch(List.of(), AUG, 1, 0))
                .hasMessage("A batch needs at least one sample");
    }
}
