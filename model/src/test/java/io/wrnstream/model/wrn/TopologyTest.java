package io.wrnstream.model.wrn;

import static org.assertj.core.api.Assertions.assertThat;

import io.wrnstream.model.engine.ParamLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopologyTest {

    @Test
    void readsLikeThePapersTableOne() {
        Topology t = WrnConfig.cifar10(28, 10).topology();
        assertThat(t.stemIn()).isEqualTo(3);
        assertThat(t.stemOut()).isEqualTo(16);
        assertThat(t.groups()).extracting(Topology.Group::name).containsExactly("g1", "g2", "g3");
        assertThat(t.groups()).extracting(Topology.Group::width).containsExactly(160, 320, 640);
        assertThat(t.groups()).extracting(Topology.Group::stride).containsExactly(1, 2, 2);
        assertThat(t.groups()).allSatisfy(g -> assertThat(g.blocks()).hasSize(4));
        assertThat(t.features()).isEqualTo(640);
        assertThat(t.classes()).isEqualTo(10);
        // Only the first block of each group projects (width or resolution change); the rest are identity shortcuts.
        assertThat(t.blocks()).filteredOn(Topology.Block::projection).extracting(Topology.Block::name)
                .containsExactly("g1.b0", "g2.b0", "g3.b0");
        assertThat(t.blocks().get(4)).isEqualTo(new Topology.Block("g2.b0", 160, 320, 2, true));
        assertThat(t.blocks().get(5)).isEqualTo(new Topology.Block("g2.b1", 320, 320, 1, false));
    }

    @Test
    void wrn40x1HasAnIdentityFirstBlockWhenWidthsAgree() {
        // k = 1: g1 keeps 16 channels at stride 1, so its first block needs no projection.
        Topology t = WrnConfig.cifar10(40, 1).topology();
        assertThat(t.blocks()).hasSize(18);
        assertThat(t.blocks().get(0).projection()).isFalse();
    }

    @Test
    void parameterCountsAndTheLayoutComeFromTheSameDescription() {
        for (Object[] c : List.<Object[]>of(new Object[] {40, 1, 563_930L}, new Object[] {16, 4, 2_748_890L}, new Object[] {28, 10, 36_479_194L})) {
            WrnConfig w = WrnConfig.cifar10((int) c[0], (int) c[1]);
            assertThat(w.topology().trainableParameters()).as(w.name()).isEqualTo(c[2]);
            assertThat(ParamLayout.of(w).trainableLength()).as(w.name()).isEqualTo(c[2]);
            assertThat(ParamLayout.of(w).entries()).filteredOn(e -> e.name().endsWith(".shortcut_W")).hasSize(
                    (int) w.topology().blocks().stream().filter(Topology.Block::projection).count());
        }
    }
}
