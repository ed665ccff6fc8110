package io.wrnstream.cli.deploy;

import static io.wrnstream.cli.deploy.DeploymentFiles.at;
import static io.wrnstream.cli.deploy.DeploymentFiles.cast;
import static io.wrnstream.cli.deploy.DeploymentFiles.list;
import static io.wrnstream.cli.deploy.DeploymentFiles.map;
import static io.wrnstream.cli.deploy.DeploymentFiles.str;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wrnstream.jobs.TrainingJob;
import io.wrnstream.jobs.config.JobConfig;
import io.wrnstream.cli.deploy.DeploymentFiles.Copy;
import io.wrnstream.cli.deploy.DeploymentFiles.Dockerfile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalResourceOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Docker and Kubernetes files, checked without Docker or a cluster: every manifest parses and has the expected
 * kind and API version, every Flink setting is an option Flink knows, every referenced file exists, and images, jar
 * paths, topics and ports agree with each other and with the job's own defaults.
 */
class DeploymentFilesTest {
    /** The job option keys of the model-update work, which the deployment files already pass (see pendingDefault). */
    private static final String USRLIB_JAR = "/opt/flink/usrlib/wrn-stream-job.jar";
    private static final int REPORTER_PORT = 9249;
    private static final int SERVE_PORT = 8080;

    private static Path root;
    private static FlinkOptionKeys flinkKeys;
    private static List<Manifest> manifests;
    private static Map<String, Object> compose;
    private static Map<String, Object> composeCuda;
    private static Map<String, Object> composeDataParallel;
    private static Dockerfile dockerfile;
    private static Dockerfile dockerfileCuda;
    private static Dockerfile dockerfileServe;

    /** One Kubernetes object and the file it came from. */
    record Manifest(Path file, Map<String, Object> doc) {
        String kind() {
            return str(doc, "kind");
        }

        String name() {
            return str(doc, "metadata", "name");
        }
    }

    @BeforeAll
    static void load() throws IOException {
        root = DeploymentFiles.root();
        flinkKeys = FlinkOptionKeys.fromClasspath();
        manifests = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root.resolve("k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList()) {
                for (Map<String, Object> doc : DeploymentFiles.yamlDocuments(f)) manifests.add(new Manifest(f, doc));
            }
        }
        compose = DeploymentFiles.yaml(root.resolve("docker/docker-compose.yml"));
        composeCuda = DeploymentFiles.yaml(root.resolve("docker/docker-compose.cuda.yml"));
        composeDataParallel = DeploymentFiles.yaml(root.resolve("docker/docker-compose.data-parallel.yml"));
        dockerfile = Dockerfile.parse(root.resolve("docker/Dockerfile"));
        dockerfileCuda = Dockerfile.parse(root.resolve("docker/Dockerfile.cuda"));
        dockerfileServe = Dockerfile.parse(root.resolve("docker/Dockerfile.serve"));
    }

    // ---- Kubernetes ----

    @Test
    void everyManifestHasAKnownKindWithItsApiVersion() {
        Map<String, String> apiVersionOfKind = Map.of(
                "Kustomization", "kustomize.config.k8s.io/v1beta1",
                "Namespace", "v1",
                "PersistentVolumeClaim", "v1",
                "Service", "v1",
                "Deployment", "apps/v1",
                "FlinkDeployment", "flink.apache.org/v1beta1",
                "KafkaTopic", "kafka.strimzi.io/v1beta2",
                "PodMonitor", "monitoring.coreos.com/v1");
        assertThat(manifests).isNotEmpty().allSatisfy(m -> {
            assertThat(apiVersionOfKind).as("kind of a document in %s", m.file()).containsKey(m.kind());
            assertThat(str(m.doc(), "apiVersion")).as("apiVersion of %s %s", m.kind(), m.name()).isEqualTo(apiVersionOfKind.get(m.kind()));
            if (!m.kind().equals("Kustomization")) {
                assertThat(m.name()).as("metadata.name in %s", m.file()).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
            }
        });
        assertThat(manifests).extracting(Manifest::kind).contains("FlinkDeployment", "KafkaTopic", "PodMonitor", "Deployment", "Service");
    }

    @Test
    void kustomizationListsEveryManifestAndTheDashboard() {
        Path k8s = root.resolve("k8s");
        Map<String, Object> kustomization = DeploymentFiles.yaml(k8s.resolve("kustomization.yaml"));
        Set<Path> listed = list(kustomization, "resources").stream().map(r -> k8s.resolve((String) r).normalize()).collect(Collectors.toSet());
        assertThat(listed).allSatisfy(p -> assertThat(p).isRegularFile());
        Set<Path> manifestFiles = manifests.stream().map(Manifest::file).filter(f -> !f.getFileName().toString().equals("kustomization.yaml"))
                .map(Path::normalize).collect(Collectors.toSet());
        assertThat(listed).as("every manifest under k8s/ is a kustomize resource").containsExactlyInAnyOrderElementsOf(manifestFiles);

        List<Object> generators = list(kustomization, "configMapGenerator");
        Map<String, Object> dashboards = generators.stream().map(g -> DeploymentFiles.<Map<String, Object>>cast(g))
                .filter(g -> "1".equals(str(g, "options", "labels", "grafana_dashboard"))).findFirst()
                .orElseThrow(() -> new AssertionError("no configMapGenerator labelled grafana_dashboard: \"1\""));
        assertThat(list(dashboards, "files")).isNotEmpty().allSatisfy(f -> {
            Path json = k8s.resolve((String) f);
            assertThat(json).isRegularFile();
            assertThat(new ObjectMapper().readTree(json.toFile()).path("panels").isArray()).as("%s is a Grafana dashboard", json).isTrue();
        });
        assertThat(str(kustomization, "namespace")).isEqualTo(only("Namespace").name());
    }

    @Test
    void kustomizeBuildsTheManifestsWhereKubectlIsInstalled() throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("kubectl", "kustomize", root.resolve("k8s").toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("kubectl is not installed: kustomize build not checked (" + e.getMessage() + ")");
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("kubectl kustomize k8s/:%n%s", out).isZero();
        List<Map<String, Object>> built = new ArrayList<>();
        new org.yaml.snakeyaml.Yaml().loadAll(out).forEach(d -> built.add(cast(d)));
        assertThat(built).extracting(d -> str(d, "metadata", "namespace")).containsOnly(str(DeploymentFiles.yaml(root.resolve("k8s/kustomization.yaml")), "namespace"), null);
        assertThat(built).filteredOn(d -> "ConfigMap".equals(str(d, "kind")))
                .singleElement().satisfies(cm -> {
                    assertThat(str(cm, "metadata", "labels", "grafana_dashboard")).isEqualTo("1");
                    assertThat(map(cm, "data")).containsKey("wrn-stream-dashboard.json");
                });
        assertThat(built).hasSize(manifests.size() - 1 + 1); // every manifest but the kustomization, plus the ConfigMap
    }

    @Test
    void flinkDeploymentRunsTheJobJarOfTheImageWithSavepointUpgrades() {
        Map<String, Object> spec = map(only("FlinkDeployment").doc(), "spec");
        assertThat(str(spec, "flinkVersion")).as("Flink %s in the operator's enum", flinkMinor()).isEqualTo("v" + flinkMinor().replace('.', '_'));
        assertThat(str(spec, "image")).isEqualTo(cudaImage());
        assertThat(str(spec, "job", "jarURI")).isEqualTo("local://" + USRLIB_JAR);
        assertThat(str(spec, "job", "entryClass")).isEqualTo(TrainingJob.class.getName()).isEqualTo(jobJarMainClass());
        assertThat(str(spec, "job", "upgradeMode")).isEqualTo("savepoint");
        assertThat(str(spec, "job", "state")).isEqualTo("running");

        // The operator's CRD types flinkConfiguration values and job arguments as strings: an unquoted 2 or true is rejected.
        assertThat(map(spec, "flinkConfiguration").values()).as("flinkConfiguration values are YAML strings").allMatch(v -> v instanceof String);
        assertThat(list(spec, "job", "args")).as("job arguments are YAML strings").allMatch(v -> v instanceof String);
        Map<String, String> flink = stringMap(map(spec, "flinkConfiguration"));
        assertThat(flink).containsKeys(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key(), CheckpointingOptions.SAVEPOINT_DIRECTORY.key());
        assertThat(flink.get(CheckpointingOptions.SAVEPOINT_DIRECTORY.key())).startsWith("file:///flink-data/");
        JobConfig job = jobConfig(flink, list(spec, "job", "args"));
        assertJobAgreesWithCluster(job, flink);
        // Job options set the Flink way, in flinkConfiguration under wrn-stream., reach the job (arguments override them).
        assertThat(flink).containsKeys(JobConfig.CLUSTER_PREFIX + JobConfig.MODEL.key(), JobConfig.CLUSTER_PREFIX + JobConfig.ENGINE.key());
        assertThat(job.get(JobConfig.MODEL)).isEqualTo(flink.get(JobConfig.CLUSTER_PREFIX + JobConfig.MODEL.key())).isEqualTo("wrn-28-10");
        assertThat(job.get(JobConfig.DROPOUT)).isEqualTo(0.3);
        // The engine the job asks for is the one the CUDA image carries in lib/ (module engine-torch is engine libtorch).
        String imageEngine = dockerfileCuda.argDefaults().get("ENGINE");
        assertThat(job.get(JobConfig.ENGINE)).isEqualTo(imageEngine.equals("torch") ? "libtorch" : imageEngine);
        assertThat(jobConfig(Map.of(), list(spec, "job", "args")).get(JobConfig.MODEL)).as("without the cluster's settings")
                .isEqualTo(JobConfig.MODEL.defaultValue());
        assertThat(job.get(JobConfig.BOOTSTRAP_SERVERS)).isEqualTo(strimziBootstrap());
        assertThat(job.get(JobConfig.PARALLELISM)).isEqualTo(Integer.parseInt(str(spec, "job", "parallelism")));
        assertThat(job.get(JobConfig.MODEL_OUTPUT)).startsWith("/models/");
        assertThat(valueIn(job, list(spec, "job", "args"), "model.store")).isEqualTo("file:///models");
        // The storage behind those URIs is mounted where they point.
        assertThat(mountPaths(map(spec, "podTemplate"))).contains("/flink-data");
        assertThat(mountPaths(map(spec, "taskManager", "podTemplate"))).contains("/models");
    }

    @Test
    void taskManagerRequestsOneGpuAndFlinkKnowsAboutIt() {
        Map<String, Object> spec = map(only("FlinkDeployment").doc(), "spec");
        Map<String, Object> main = mainContainer(map(spec, "taskManager", "podTemplate"));
        String gpus = str(main, "resources", "limits", "nvidia.com/gpu");
        assertThat(gpus).isEqualTo("1");

        Map<String, String> flink = stringMap(map(spec, "flinkConfiguration"));
        assertThat(flink.get(ExternalResourceOptions.EXTERNAL_RESOURCE_LIST.key())).isEqualTo("gpu");
        assertThat(flink).containsEntry(ExternalResourceOptions.getAmountConfigOptionForResource("gpu"), gpus)
                .containsEntry(ExternalResourceOptions.getExternalResourceDriverFactoryConfigOptionForResource("gpu"),
                        "org.apache.flink.externalresource.gpu.GPUDriverFactory")
                .containsEntry(ExternalResourceOptions.getSystemConfigKeyConfigOptionForResource("gpu", "kubernetes.config-key"), "nvidia.com/gpu")
                .containsEntry(ExternalResourceOptions.getExternalResourceParamConfigPrefixForResource("gpu") + "discovery-script.path",
                        "/opt/flink/plugins/external-resource-gpu/nvidia-gpu-discovery.sh");
    }

    @Test
    void strimziTopicsAreTheJobsTopicsAndModelUpdatesAreCompacted() {
        Map<String, Map<String, Object>> topics = new TreeMap<>();
        for (Manifest m : all("KafkaTopic")) {
            assertThat(str(m.doc(), "metadata", "labels", "strimzi.io/cluster")).isEqualTo("wrn-kafka");
            topics.put(str(m.doc(), "spec", "topicName"), map(m.doc(), "spec"));
        }
        assertThat(topics.keySet()).containsExactlyInAnyOrderElementsOf(jobTopics());
        assertThat(str(topics.get(modelUpdatesTopic()), "config", "cleanup.policy")).isEqualTo("compact");
        assertThat(topics.values()).allSatisfy(t -> assertThat(Integer.parseInt(str(t, "partitions"))).isPositive());
    }

    @Test
    void flinkPodsExposeTheReporterPortThatThePodMonitorScrapes() {
        Map<String, Object> spec = map(only("FlinkDeployment").doc(), "spec");
        Map<String, String> flink = stringMap(map(spec, "flinkConfiguration"));
        assertPrometheusReporter(flink, "FlinkDeployment flinkConfiguration");
        Map<String, Object> port = cast(list(mainContainer(map(spec, "podTemplate")), "ports").stream()
                .filter(p -> "metrics".equals(str(p, "name"))).findFirst().orElseThrow(() -> new AssertionError("no container port named metrics")));
        assertThat(str(port, "containerPort")).isEqualTo(String.valueOf(REPORTER_PORT));

        Map<String, Object> monitor = map(only("PodMonitor").doc(), "spec");
        assertThat(list(monitor, "podMetricsEndpoints")).extracting(e -> str(e, "port")).containsExactly("metrics");
        // The labels Flink's native Kubernetes integration puts on its pods: app=<cluster id>, type=flink-native-kubernetes.
        assertThat(stringMap(map(monitor, "selector", "matchLabels")))
                .containsEntry("app", only("FlinkDeployment").name()).containsEntry("type", "flink-native-kubernetes");
    }

    @Test
    void serveDeploymentFollowsTheModelUpdatesTopicOnItsServicePort() {
        Manifest deployment = only("Deployment");
        Map<String, Object> pod = map(deployment.doc(), "spec", "template");
        Map<String, Object> container = cast(list(pod, "spec", "containers").get(0));
        assertThat(str(container, "image")).isEqualTo(serveImage());
        assertThat(at(container, "command")).as("the serve image's entrypoint runs serve").isNull();
        List<String> cmd = strings(list(container, "args"));
        assertThat(flag(cmd, "--topic")).isEqualTo(modelUpdatesTopic());
        assertThat(flag(cmd, "--bootstrap")).isEqualTo(strimziBootstrap());
        assertThat(flag(cmd, "--port")).isEqualTo(String.valueOf(SERVE_PORT));
        Map<String, Object> port = cast(list(container, "ports").get(0));
        assertThat(str(port, "containerPort")).isEqualTo(String.valueOf(SERVE_PORT));
        assertThat(stringMap(map(pod, "metadata", "labels"))).containsAllEntriesOf(stringMap(map(deployment.doc(), "spec", "selector", "matchLabels")));
        assertThat(mountPaths(pod)).contains("/models");

        Map<String, Object> service = map(only("Service").doc(), "spec");
        assertThat(stringMap(map(service, "selector"))).isEqualTo(stringMap(map(pod, "metadata", "labels")));
        Map<String, Object> sp = cast(list(service, "ports").get(0));
        assertThat(str(sp, "targetPort")).isIn(str(port, "name"), str(port, "containerPort"));
        assertThat(str(sp, "port")).isEqualTo(String.valueOf(SERVE_PORT));
        // serve reads the model files where the TaskManager writes them: the same claim.
        assertThat(claims(pod)).containsAnyElementsOf(claims(map(only("FlinkDeployment").doc(), "spec", "taskManager", "podTemplate")));
    }

    // ---- Flink settings everywhere ----

    @Test
    void everyFlinkSettingIsAnOptionFlinkKnows() {
        Map<String, String> used = new TreeMap<>();
        stringMap(map(only("FlinkDeployment").doc(), "spec", "flinkConfiguration")).keySet().forEach(k -> used.put(k, "k8s FlinkDeployment"));
        for (Map.Entry<String, Map<String, Object>> c : Map.of("docker-compose.yml", compose, "docker-compose.cuda.yml", composeCuda,
                "docker-compose.data-parallel.yml", composeDataParallel).entrySet()) {
            services(c.getValue()).forEach((name, svc) -> {
                String props = str(svc, "environment", "FLINK_PROPERTIES");
                if (props != null) DeploymentFiles.flinkProperties(props).keySet().forEach(k -> used.put(k, c.getKey() + " " + name));
            });
        }
        dockerfile.flinkSettings().keySet().forEach(k -> used.put(k, "Dockerfile"));
        dockerfileCuda.flinkSettings().keySet().forEach(k -> used.put(k, "Dockerfile.cuda"));

        assertThat(used).hasSizeGreaterThan(10);
        Map<String, String> unknown = new TreeMap<>(used);
        unknown.keySet().removeIf(flinkKeys::isKnown);
        // The job's own options, set the Flink way: wrn-stream.<declared job option> or wrn-stream.kafka.<client property>.
        unknown.keySet().removeIf(k -> k.startsWith(JobConfig.CLUSTER_PREFIX) && (declared(k.substring(JobConfig.CLUSTER_PREFIX.length()))
                || k.startsWith(JobConfig.CLUSTER_PREFIX + JobConfig.KAFKA_PREFIX)));
        assertThat(unknown).as("Flink settings that no Flink %s option declares (key -> where)", flinkMinor()).isEmpty();
    }

    // ---- Docker ----

    @Test
    void dockerfilesBuildTheThinJobJarIntoUsrlibAndOneEngineIntoLibWithTheReporterOn() {
        for (Dockerfile d : List.of(dockerfile, dockerfileCuda)) {
            assertThat(d.baseImages()).as("%s base images", d.file()).anySatisfy(image ->
                    assertThat(image).matches("flink:" + Pattern.quote(flinkMinor()) + "(\\.\\d+)?-java17"));
            assertThat(d.runText()).as("%s builds the job jar, one engine and the CLI", d.file()).contains("-DskipTests -pl jobs,cli,engine-\"${ENGINE}\" -am package")
                    .contains("cp jobs/target/" + jobJarGlob() + " /wrn-stream-job.jar")
                    .contains("cp -r engine-\"${ENGINE}\"/target/engine-lib /engine-lib");
            assertThat(d.copies()).as("%s puts the jar in usrlib", d.file())
                    .anySatisfy(c -> assertThat(c).isEqualTo(new Copy("build", List.of("/wrn-stream-job.jar"), USRLIB_JAR)))
                    .anySatisfy(c -> assertThat(c).isEqualTo(new Copy("build", List.of("/engine-lib/"), "/opt/flink/lib/")));
            assertThat(root.resolve("engine-" + d.argDefaults().get("ENGINE"))).as("%s default engine module", d.file()).isDirectory();
            assertPrometheusReporter(d.flinkSettings(), d.file().toString());
            assertThat(d.instructions()).filteredOn(i -> i.keyword().equals("EXPOSE")).flatExtracting(i -> i.words())
                    .contains("8081", String.valueOf(REPORTER_PORT));
        }
        assertThat(dockerfile.runText()).contains("-P\"${MAVEN_PROFILES}\"");
        assertThat(dockerfile.argDefaults()).containsEntry("MAVEN_PROFILES", "dist").containsEntry("ENGINE", "torch");
        // The CUDA image defaults to libtorch's GPU build (NCCL for data-parallel ranks) on a CUDA 13.1 + cuDNN base,
        // the CUDA of the libtorch preset's linux-x86_64-gpu natives; its header documents the DL4J variant (CUDA 11.6).
        assertThat(dockerfileCuda.argDefaults()).containsEntry("MAVEN_PROFILES", "dist,torch-gpu").containsEntry("ENGINE", "torch");
        assertThat(dockerfileCuda.argDefaults().get("CUDA_IMAGE")).startsWith("nvidia/cuda:13.1").contains("cudnn");
        assertThat(DeploymentFiles.read(root.resolve("docker/Dockerfile.cuda")))
                .contains("--build-arg ENGINE=dl4j --build-arg MAVEN_PROFILES=dist,cuda", "nvidia/cuda:11.6");
        // The ND4J backend the cuda profile selects is the CUDA version of the DL4J variant's base image.
        assertThat(DeploymentFiles.read(root.resolve("pom.xml"))).contains("<nd4j.cuda.backend>nd4j-cuda-11.6</nd4j.cuda.backend>");
    }

    @Test
    void serveImageHasNoFlinkAndRunsTheServeCommand() {
        assertThat(dockerfileServe.baseImages()).as("runtime base").anySatisfy(image -> assertThat(image).startsWith("eclipse-temurin:17-jre"))
                .noneSatisfy(image -> assertThat(image).startsWith("flink"));
        assertThat(dockerfileServe.runText()).contains("-Pdist -DskipTests -pl serve -am package").contains("cp -r serve/target/serve-lib /serve-lib");
        assertThat(dockerfileServe.copies()).anySatisfy(c -> assertThat(c).isEqualTo(new Copy("build", List.of("/serve-lib/"), "/opt/wrn-stream/lib/")));
        assertThat(dockerfileServe.instructions()).filteredOn(i -> i.keyword().equals("ENTRYPOINT")).flatExtracting(i -> i.words())
                .anySatisfy(w -> assertThat(w).contains(io.wrnstream.serve.ServeMain.class.getName()));
        assertThat(dockerfileServe.instructions()).filteredOn(i -> i.keyword().equals("EXPOSE")).flatExtracting(i -> i.words())
                .contains(String.valueOf(SERVE_PORT));
    }

    @Test
    void dockerfilesCopyOnlyFilesThatExistInTheBuildContext() {
        List<String> ignored = DeploymentFiles.read(root.resolve(".dockerignore")).lines()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        for (Dockerfile d : List.of(dockerfile, dockerfileCuda, dockerfileServe)) {
            List<Copy> fromContext = d.copies().stream().filter(c -> c.from() == null).toList();
            assertThat(fromContext).isNotEmpty();
            for (Copy c : fromContext) {
                for (String src : c.sources()) {
                    assertThat(root.resolve(src)).as("COPY %s in %s", src, d.file()).exists();
                    assertThat(dockerIgnored(ignored, src)).as("COPY %s in %s is excluded by .dockerignore", src, d.file()).isFalse();
                }
            }
        }
        assertThat(root.resolve("docker/bin/wrn-stream")).isExecutable();
        assertThat(DeploymentFiles.read(root.resolve("docker/bin/wrn-stream"))).contains(USRLIB_JAR.replace("/opt/flink", "$flink_home"))
                .contains(io.wrnstream.cli.Main.class.getName());
    }

    @Test
    void composeRunsTheJobInApplicationModeAgreeingWithTheClusterSettings() {
        Map<String, Map<String, Object>> svc = services(compose);
        assertThat(svc).containsKeys("kafka", "topics", "jobmanager", "taskmanager", "ingest", "serve", "prometheus", "grafana");
        assertThat(str(svc.get("kafka"), "image")).isEqualTo("apache/kafka:" + rootProperty("kafka.version"));
        assertThat(str(svc.get("kafka"), "environment", "KAFKA_PROCESS_ROLES")).isEqualTo("broker,controller");

        List<String> cmd = strings(list(svc.get("jobmanager"), "command"));
        assertThat(cmd.subList(0, 3)).containsExactly("standalone-job", "--job-classname", TrainingJob.class.getName());
        List<Object> jobArgs = new ArrayList<>(cmd.subList(3, cmd.size()));
        // The job's main() runs in the jobmanager and also reads the wrn-stream.* settings of its Flink configuration.
        JobConfig job = jobConfig(DeploymentFiles.flinkProperties(str(svc.get("jobmanager"), "environment", "FLINK_PROPERTIES")), jobArgs);
        for (String flinkProcess : List.of("jobmanager", "taskmanager")) {
            Map<String, String> flink = DeploymentFiles.flinkProperties(str(svc.get(flinkProcess), "environment", "FLINK_PROPERTIES"));
            assertJobAgreesWithCluster(job, flink);
            assertThat(flink).containsEntry("jobmanager.rpc.address", "jobmanager");
            assertThat(Integer.parseInt(flink.get("taskmanager.numberOfTaskSlots"))).isGreaterThanOrEqualTo(job.get(JobConfig.PARALLELISM));
        }
        assertThat(job.get(JobConfig.BOOTSTRAP_SERVERS)).isEqualTo("kafka:9092");
        // The engine the job asks for (here the default) is the one the CPU image carries in lib/.
        String imageEngine = dockerfile.argDefaults().get("ENGINE");
        assertThat(job.get(JobConfig.ENGINE)).isEqualTo(imageEngine.equals("torch") ? "libtorch" : imageEngine);
        assertThat(valueIn(job, jobArgs, "model.store")).isEqualTo("file:///models");
        assertThat(job.get(JobConfig.MODEL_OUTPUT)).startsWith("/models/");
        assertThat(volumeTargets(svc.get("taskmanager"))).contains("/models", "/flink-data");
        assertThat(volumeTargets(svc.get("jobmanager"))).contains("/flink-data");
        assertThat(strings(list(svc.get("taskmanager"), "command"))).containsExactly("taskmanager");
    }

    @Test
    void composeTopicsIngestAndServeUseTheJobsTopics() {
        Map<String, Map<String, Object>> svc = services(compose);
        String topicsScript = strings(list(svc.get("topics"), "command")).get(0);
        for (String t : jobTopics()) assertThat(topicsScript).as("topics service creates %s", t).contains(t);
        assertThat(topicsScript).containsPattern("--topic " + Pattern.quote(modelUpdatesTopic()) + " .*--config cleanup.policy=compact");

        String ingest = String.join("\n", strings(list(svc.get("ingest"), "command")));
        JobConfig defaults = JobConfig.defaults();
        assertThat(ingest).contains("--split test --topic " + defaults.get(JobConfig.TOPIC_TEST) + " --bootstrap kafka:9092")
                .contains("--split train --topic " + defaults.get(JobConfig.TOPIC_TRAIN) + " --bootstrap kafka:9092");
        assertThat(volumeTargets(svc.get("ingest"))).contains("/datasets");

        List<String> serve = strings(list(svc.get("serve"), "command"));
        assertThat(str(svc.get("serve"), "build", "dockerfile")).isEqualTo("docker/Dockerfile.serve");
        assertThat(flag(serve, "--topic")).isEqualTo(modelUpdatesTopic());
        assertThat(flag(serve, "--bootstrap")).isEqualTo("kafka:9092");
        assertThat(volumeTargets(svc.get("serve"))).contains("/models");
        assertThat(namedVolume(svc.get("serve"), "/models")).isEqualTo(namedVolume(svc.get("taskmanager"), "/models"));
    }

    @Test
    void composePublishesTheAgreedPorts() {
        Map<String, Map<String, Object>> svc = services(compose);
        assertThat(publishedPorts(svc.get("jobmanager"))).containsEntry(8081, 8081);
        assertThat(publishedPorts(svc.get("serve"))).containsEntry(SERVE_PORT, SERVE_PORT);
        assertThat(flag(strings(list(svc.get("serve"), "command")), "--port")).isEqualTo(String.valueOf(SERVE_PORT));
        assertThat(publishedPorts(svc.get("prometheus"))).containsEntry(9090, 9090);
        assertThat(publishedPorts(svc.get("grafana"))).containsEntry(3000, 3000);
        assertThat(str(svc.get("kafka"), "environment", "KAFKA_LISTENERS")).contains("PLAINTEXT://:9092");
        assertThat(str(svc.get("kafka"), "environment", "KAFKA_ADVERTISED_LISTENERS")).contains("PLAINTEXT://kafka:9092");
        // Prometheus scrapes the reporter port of both Flink processes.
        String prometheus = DeploymentFiles.read(root.resolve("docker/prometheus/prometheus.yml"));
        assertThat(prometheus).contains("jobmanager:" + REPORTER_PORT, "taskmanager:" + REPORTER_PORT, "serve:" + SERVE_PORT);
    }

    @Test
    void composeFilesReferenceExistingFilesImagesAndServices() {
        Path docker = root.resolve("docker");
        for (Map<String, Object> c : List.of(compose, composeCuda, composeDataParallel)) {
            Set<String> declaredVolumes = at(c, "volumes") == null ? Set.of() : map(c, "volumes").keySet();
            services(c).forEach((name, s) -> {
                if (at(s, "build") != null) {
                    Path context = docker.resolve(str(s, "build", "context")).normalize();
                    assertThat(context).as("%s build context", name).isEqualTo(root);
                    assertThat(context.resolve(str(s, "build", "dockerfile"))).as("%s dockerfile", name).isRegularFile();
                    String image = str(s, "image");
                    String dockerfile = str(s, "build", "dockerfile");
                    assertThat(image).as("%s image", name)
                            .isEqualTo(dockerfile.endsWith(".cuda") ? cudaImage() : dockerfile.endsWith(".serve") ? serveImage() : cpuImage());
                }
                for (String v : volumeStrings(s)) {
                    String source = volumeParts(v)[0];
                    if (source.startsWith("${")) {
                        // a path outside the repository with a default (the dataset): only its form is checked
                        assertThat(source).as("%s volume %s", name, v).matches("\\$\\{[A-Z_]+:-[^}]+}");
                    } else if (source.startsWith(".") || source.startsWith("/")) {
                        assertThat(docker.resolve(source)).as("%s bind mount %s", name, v).exists();
                    } else {
                        assertThat(declaredVolumes).as("%s named volume %s", name, source).contains(source);
                    }
                }
            });
        }
        Set<String> baseServices = services(compose).keySet();
        services(compose).forEach((name, s) -> dependsOn(s).forEach(d -> assertThat(baseServices).as("%s depends on", name).contains(d)));
        assertThat(baseServices).as("the cuda file overrides services of the base file").containsAll(services(composeCuda).keySet());
        assertThat(baseServices).as("the data-parallel file overrides services of the base file").containsAll(services(composeDataParallel).keySet());
        for (String f : List.of("grafana/dashboards/wrn-stream.json", "grafana/provisioning", "prometheus/prometheus.yml")) {
            assertThat(docker.resolve(f)).exists();
        }
    }

    @Test
    void composeCudaGivesTheTaskManagerAGpuThatFlinkKnowsAbout() {
        Map<String, Object> tm = services(composeCuda).get("taskmanager");
        Map<String, Object> device = cast(list(tm, "deploy", "resources", "reservations", "devices").get(0));
        assertThat(str(device, "driver")).isEqualTo("nvidia");
        Map<String, String> flink = DeploymentFiles.flinkProperties(str(tm, "environment", "FLINK_PROPERTIES"));
        assertThat(flink).containsEntry(ExternalResourceOptions.EXTERNAL_RESOURCE_LIST.key(), "gpu")
                .containsEntry(ExternalResourceOptions.getAmountConfigOptionForResource("gpu"), str(device, "count"));
        // Same cluster settings as the base file, plus the GPU.
        Map<String, String> base = DeploymentFiles.flinkProperties(str(services(compose).get("taskmanager"), "environment", "FLINK_PROPERTIES"));
        Map<String, String> cuda = new LinkedHashMap<>(flink);
        cuda.keySet().removeIf(k -> k.startsWith("external-resource") || k.equals("taskmanager.memory.process.size"));
        base.keySet().removeIf(k -> k.equals("taskmanager.memory.process.size"));
        assertThat(cuda).isEqualTo(base);
    }

    @Test
    void flinkDeploymentTrainsOneModelOnNRanksOfOneGpuEach() {
        Map<String, Object> spec = map(only("FlinkDeployment").doc(), "spec");
        Map<String, String> flink = stringMap(map(spec, "flinkConfiguration"));
        JobConfig job = jobConfig(flink, list(spec, "job", "args"));
        int ranks = job.get(JobConfig.TRAINER_PARALLELISM);
        assertThat(ranks).as("trainer ranks").isGreaterThan(1);
        // One slot per TaskManager and N subtasks: the operator starts N TaskManagers, one rank (and one GPU) on each.
        assertThat(flink).containsEntry("taskmanager.numberOfTaskSlots", "1");
        assertThat(job.get(JobConfig.PARALLELISM)).isEqualTo(ranks).isEqualTo(Integer.parseInt(str(spec, "job", "parallelism")));
        assertThat(str(mainContainer(map(spec, "taskManager", "podTemplate")), "resources", "limits", "nvidia.com/gpu")).isEqualTo("1");
        // A failed rank restarts all of them; the job sets this too, the cluster must not contradict it.
        assertThat(flink).containsEntry("jobmanager.execution.failover-strategy", "full");
        assertThat(TrainingJob.flinkConfiguration(job).get(org.apache.flink.configuration.JobManagerOptions.EXECUTION_FAILOVER_STRATEGY))
                .isEqualTo("full");
        // Data-parallel training is libtorch's (DL4J refuses N > 1), and the group timeout stays below Flink's cancellation timeout.
        assertThat(job.get(JobConfig.ENGINE)).isEqualTo("libtorch");
        assertThat(job.get(JobConfig.TRAINER_GROUP_TIMEOUT)).isLessThan(java.time.Duration.ofMinutes(3));
    }

    @Test
    void composeDataParallelRunsTwoRanksOnTwoTaskManagersOverGloo() {
        Map<String, Map<String, Object>> svc = services(composeDataParallel);
        assertThat(svc).containsOnlyKeys("jobmanager", "taskmanager");
        assertThat(at(svc.get("taskmanager"), "deploy", "replicas")).isEqualTo(2);
        Map<String, String> base = DeploymentFiles.flinkProperties(str(services(compose).get("taskmanager"), "environment", "FLINK_PROPERTIES"));
        List<String> jobArgs = strings(list(services(compose).get("jobmanager"), "command"));
        for (String process : List.of("jobmanager", "taskmanager")) {
            Map<String, String> flink = DeploymentFiles.flinkProperties(str(svc.get(process), "environment", "FLINK_PROPERTIES"));
            JobConfig job = jobConfig(flink, new ArrayList<>(jobArgs.subList(3, jobArgs.size())));
            assertJobAgreesWithCluster(job, flink);
            int slots = Integer.parseInt(flink.get("taskmanager.numberOfTaskSlots"));
            assertThat(job.get(JobConfig.TRAINER_PARALLELISM)).as("%s: one rank per TaskManager slot", process).isEqualTo(2 * slots);
            assertThat(job.get(JobConfig.PARALLELISM)).isEqualTo(2);
            assertThat(job.get(JobConfig.ENGINE)).isEqualTo("libtorch");
            assertThat(flink).containsEntry("jobmanager.execution.failover-strategy", "full");
            // Otherwise the base file's cluster settings.
            Map<String, String> rest = new LinkedHashMap<>(flink);
            rest.keySet().removeAll(List.of("taskmanager.numberOfTaskSlots", "jobmanager.execution.failover-strategy",
                    JobConfig.CLUSTER_PREFIX + JobConfig.TRAINER_PARALLELISM.key()));
            Map<String, String> baseRest = new LinkedHashMap<>(base);
            baseRest.remove("taskmanager.numberOfTaskSlots");
            assertThat(rest).isEqualTo(baseRest);
        }
    }

    // ---- helpers ----

    private static Manifest only(String kind) {
        List<Manifest> m = all(kind);
        assertThat(m).as("manifests of kind %s", kind).hasSize(1);
        return m.get(0);
    }

    private static List<Manifest> all(String kind) {
        return manifests.stream().filter(m -> kind.equals(m.kind())).toList();
    }

    private static Map<String, Map<String, Object>> services(Map<String, Object> composeFile) {
        return cast(map(composeFile, "services"));
    }

    private static Map<String, String> stringMap(Map<String, Object> m) {
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }

    private static List<String> strings(List<Object> l) {
        return l.stream().map(String::valueOf).toList();
    }

    private static String flag(List<String> args, String name) {
        int i = args.indexOf(name);
        assertThat(i).as("%s in %s", name, args).isNotNegative().isLessThan(args.size() - 1);
        return args.get(i + 1);
    }

    private static Map<String, Object> mainContainer(Map<String, Object> podTemplate) {
        return cast(list(podTemplate, "spec", "containers").stream().filter(c -> "flink-main-container".equals(str(c, "name")))
                .findFirst().orElseThrow(() -> new AssertionError("no flink-main-container in " + podTemplate)));
    }

    private static Set<String> mountPaths(Map<String, Object> podTemplate) {
        Set<String> out = new TreeSet<>();
        for (Object c : list(podTemplate, "spec", "containers")) {
            Object mounts = at(c, "volumeMounts");
            if (mounts != null) for (Object m : DeploymentFiles.<List<Object>>cast(mounts)) out.add(str(m, "mountPath"));
        }
        return out;
    }

    private static Set<String> claims(Map<String, Object> podTemplate) {
        return list(podTemplate, "spec", "volumes").stream().map(v -> str(v, "persistentVolumeClaim", "claimName"))
                .filter(java.util.Objects::nonNull).collect(Collectors.toSet());
    }

    private static List<String> volumeStrings(Map<String, Object> service) {
        Object v = at(service, "volumes");
        return v == null ? List.of() : strings(cast(v));
    }

    /** source, target[, mode] of a short-syntax volume; the source may be ${VAR:-default}, which holds a colon. */
    private static String[] volumeParts(String volume) {
        String source = volume.startsWith("${") ? volume.substring(0, volume.indexOf('}') + 1) : volume.substring(0, volume.indexOf(':'));
        String[] rest = volume.substring(source.length() + 1).split(":");
        String[] out = new String[rest.length + 1];
        out[0] = source;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    private static Set<String> volumeTargets(Map<String, Object> service) {
        return volumeStrings(service).stream().map(v -> volumeParts(v)[1]).collect(Collectors.toSet());
    }

    private static String namedVolume(Map<String, Object> service, String target) {
        return volumeStrings(service).stream().filter(v -> volumeParts(v)[1].equals(target)).map(v -> volumeParts(v)[0]).findFirst()
                .orElseThrow(() -> new AssertionError("no volume at " + target));
    }

    private static Set<String> dependsOn(Map<String, Object> service) {
        Object d = at(service, "depends_on");
        if (d == null) return Set.of();
        if (d instanceof List<?> l) return l.stream().map(String::valueOf).collect(Collectors.toSet());
        return DeploymentFiles.<Map<String, Object>>cast(d).keySet();
    }

    /** host port -> container port of "host:container" entries. */
    private static Map<Integer, Integer> publishedPorts(Map<String, Object> service) {
        Map<Integer, Integer> out = new TreeMap<>();
        for (String p : strings(list(service, "ports"))) {
            String[] hc = p.split(":");
            out.put(Integer.parseInt(hc[0]), Integer.parseInt(hc[1]));
        }
        return out;
    }

    private static void assertPrometheusReporter(Map<String, String> flink, String where) {
        assertThat(flink).as("Prometheus reporter in %s", where)
                .containsEntry("metrics.reporter.prom.factory.class", "org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
                .containsEntry("metrics.reporter.prom.port", String.valueOf(REPORTER_PORT));
    }

    /** The job sets its own checkpoint storage and state backend: they must be the cluster's. */
    private static void assertJobAgreesWithCluster(JobConfig job, Map<String, String> flink) {
        assertThat(job.get(JobConfig.CHECKPOINT_DIR)).isEqualTo(flink.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key()));
        assertThat(job.get(JobConfig.STATE_BACKEND)).isEqualTo(flink.get(StateBackendOptions.STATE_BACKEND.key()));
        // And what the job then hands Flink is consistent too.
        assertThat(TrainingJob.flinkConfiguration(job).get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))
                .isEqualTo(flink.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key()));
    }

    /**
     * Parses a cluster's Flink settings and the job arguments with {@link JobConfig}, as the job's main() does, so every
     * key must be a declared option and every value valid.
     */
    private static JobConfig jobConfig(Map<String, String> flink, List<Object> args) {
        List<String> known = new ArrayList<>();
        for (int i = 0; i < args.size(); i += 2) {
            String key = String.valueOf(args.get(i));
            assertThat(key).as("job argument %d of %s", i, args).startsWith("--");
            assertThat(i + 1).as("value of %s", key).isLessThan(args.size());
            String k = key.substring(2);
            assertThat(declared(k) || k.startsWith(JobConfig.KAFKA_PREFIX)).as("job option %s is a JobConfig option", k).isTrue();
            known.add(key);
            known.add(String.valueOf(args.get(i + 1)));
        }
        return JobConfig.fromFlink(Configuration.fromMap(flink), known.toArray(String[]::new));
    }

    private static boolean declared(String key) {
        return JobConfig.OPTIONS.stream().anyMatch(o -> o.key().equals(key));
    }

    /** The value of {@code key} in the arguments, as the job would see it (its default when not given). */
    private static String valueIn(JobConfig job, List<Object> args, String key) {
        int i = args.indexOf("--" + key);
        if (i >= 0) return String.valueOf(args.get(i + 1));
        return job.raw().get(key);
    }

    /** The declared default of a job option. */
    private static String defaultOf(String key) {
        return JobConfig.OPTIONS.stream().filter(o -> o.key().equals(key)).map(JobConfig::defaultText).findFirst()
                .orElseThrow(() -> new AssertionError("no job option " + key));
    }

    private static String modelUpdatesTopic() {
        return defaultOf("topic.model-updates");
    }

    private static List<String> jobTopics() {
        JobConfig d = JobConfig.defaults();
        return List.of(d.get(JobConfig.TOPIC_TRAIN), d.get(JobConfig.TOPIC_TEST), d.get(JobConfig.TOPIC_RESULTS),
                d.get(JobConfig.TOPIC_DEAD_LETTER), modelUpdatesTopic());
    }

    private static String strimziBootstrap() {
        return "wrn-kafka-kafka-bootstrap:9092";
    }

    private static String projectVersion() {
        Matcher m = Pattern.compile("<artifactId>wrn-stream-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(DeploymentFiles.read(root.resolve("pom.xml")));
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    /** The image tag: the project version without -SNAPSHOT. */
    private static String cpuImage() {
        return "wrn-stream:" + projectVersion().replace("-SNAPSHOT", "");
    }

    private static String cudaImage() {
        return cpuImage() + "-cuda";
    }

    /** The serve image: no Flink (docker/Dockerfile.serve). */
    private static String serveImage() {
        return "wrn-stream-serve:" + projectVersion().replace("-SNAPSHOT", "");
    }

    private static String rootProperty(String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(DeploymentFiles.read(root.resolve("pom.xml")));
        assertThat(m.find()).as("property %s in pom.xml", name).isTrue();
        return m.group(1);
    }

    /** "2.2" of flink.version 2.2.1. */
    private static String flinkMinor() {
        String[] v = rootProperty("flink.version").split("\\.");
        return v[0] + "." + v[1];
    }

    private static String jobsPom() {
        return DeploymentFiles.read(root.resolve("jobs/pom.xml"));
    }

    private static String jobJarMainClass() {
        Matcher m = Pattern.compile("<mainClass>([^<]+)</mainClass>").matcher(jobsPom());
        assertThat(m.find()).as("mainClass in jobs/pom.xml").isTrue();
        return m.group(1);
    }

    /** The shaded jar's file name pattern: artifactId-*-classifier.jar. */
    private static String jobJarGlob() {
        Matcher classifier = Pattern.compile("<shadedClassifierName>([^<]+)</shadedClassifierName>").matcher(jobsPom());
        Matcher artifact = Pattern.compile("</parent>\\s*<artifactId>([^<]+)</artifactId>").matcher(jobsPom());
        assertThat(classifier.find() && artifact.find()).as("artifactId and shadedClassifierName in jobs/pom.xml").isTrue();
        return artifact.group(1) + "-*-" + classifier.group(1) + ".jar";
    }

    /** Whether a build-context path is excluded by .dockerignore (last matching line wins, ! re-includes). */
    private static boolean dockerIgnored(List<String> patterns, String path) {
        String p = path.replaceAll("/+$", "");
        boolean ignored = false;
        for (String raw : patterns) {
            boolean negate = raw.startsWith("!");
            String regex = globToRegex((negate ? raw.substring(1) : raw).replaceAll("^/+", "").replaceAll("/+$", ""));
            if (p.matches(regex) || p.matches(regex + "/.*")) ignored = !negate;
        }
        return ignored;
    }

    /** A .dockerignore glob as a regex: ** any path, * any name part, the rest literal. */
    private static String globToRegex(String glob) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                sb.append(".*");
                i++;
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '/') i++; // **/ also matches no folder at all
            } else if (c == '*') {
                sb.append("[^/]*");
            } else {
                sb.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return sb.toString();
    }
}
