// One-off: the Service Authorization Reference subset this package tests with.
const fs=require('fs'),dir=process.argv[2],d=dir+'/data',p=require(dir+'/package.json');
const J=JSON.stringify,byKey=([a],[b])=>a<b?-1:1,lines=[];
lines.push(`{"package":${J(p.name)},"version":${J(p.version)},"updatedAt":${J(p.updatedAt)},"license":${J(p.license)},"services":{`);
process.argv.slice(3).forEach((s,i,all)=>{
  const a=Object.values(JSON.parse(fs.readFileSync(`${d}/actions/${s}.json`))).map(x=>[x.name,{accessLevel:x.accessLevel,conditionKeys:x.conditionKeys,
    resourceTypes:x.resourceTypes.map(t=>({name:t.name,required:t.required,conditionKeys:t.conditionKeys}))}]).sort(byKey);
  const r=Object.values(JSON.parse(fs.readFileSync(`${d}/resourceTypes/${s}.json`))).map(x=>[x.key,{arn:x.arn,conditionKeys:x.conditionKeys}]).sort(byKey);
  lines.push(`${J(s)}:{"actions":{`, a.map(([k,v])=>J(k)+':'+J(v)).join(',\n'), `},"resourceTypes":{`, r.map(([k,v])=>J(k)+':'+J(v)).join(',\n'), '}}'+(i<all.length-1?',':''));
});
lines.push('}}');
process.stdout.write(lines.join('\n')+'\n');
